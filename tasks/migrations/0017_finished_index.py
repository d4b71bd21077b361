"""Tasks by when they finished, for the dashboard's charts and recent failures across the whole
site; built without locking the task table against writes, as 0008."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("tasks", "0016_foreign_key_indexes_covered"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="generationtask",
            index=models.Index(fields=["finished_at"], name="task_finished",
                               condition=models.Q(finished_at__isnull=False)),
        ),
    ]
