"""Four foreign keys lose their single-column index, which a composite index beginning with the same
column already covers: every event, checkpoint and claimed or finished task wrote one index entry
more than any query needs (docs/performance.md, "Thirtieth session"). Dropped concurrently, so
the workers keep writing meanwhile."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from config.postgresql.operations import foreign_key_index_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("tasks", "0015_removed_task_totals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="costbudgetchange",
                name="user",
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                        related_name="cost_budget_changes", to=settings.AUTH_USER_MODEL),
            ),
            table="tasks_costbudgetchange", column="user_id", index="tasks_costbudgetchange_user_id_bc09f88e",
        ),
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="generationtask",
                name="created_by",
                field=models.ForeignKey(blank=True, db_index=False, null=True,
                                        on_delete=django.db.models.deletion.SET_NULL,
                                        related_name="generation_tasks", to=settings.AUTH_USER_MODEL),
            ),
            table="tasks_generationtask", column="created_by_id", index="tasks_generationtask_created_by_id_c2ca3112",
        ),
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="stagecheckpoint",
                name="task",
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                        related_name="checkpoints", to="tasks.generationtask"),
            ),
            table="tasks_stagecheckpoint", column="task_id", index="tasks_stagecheckpoint_task_id_ae0a01f1",
        ),
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="taskevent",
                name="task",
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                        related_name="events", to="tasks.generationtask"),
            ),
            table="tasks_taskevent", column="task_id", index="tasks_taskevent_task_id_bfe419b4",
        ),
    ]
