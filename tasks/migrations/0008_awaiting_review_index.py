"""The review queue's partial index, built without locking the task table against writes (a large
table takes a while to index, and the workers keep writing meanwhile)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("tasks", "0007_cost_budgets"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="generationtask",
            index=models.Index(
                condition=models.Q(("approval_status", "pending"), ("status", "completed")),
                fields=["finished_at", "created_at"],
                name="task_awaiting_review",
            ),
        ),
    ]
