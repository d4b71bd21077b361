"""The budgets' indexes on when a task was last queued, built without locking the task table
against writes (as 0008)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("tasks", "0009_budget_month_of_queueing"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="generationtask",
            index=models.Index(fields=["queued_at"], name="task_queued"),
        ),
        AddIndexConcurrently(
            model_name="generationtask",
            index=models.Index(fields=["created_by", "queued_at"], name="task_owner_queued"),
        ),
    ]
