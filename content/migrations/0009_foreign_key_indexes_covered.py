"""A version's and a decision's task lose their single-column index, which a composite index
beginning with the same column already covers (as tasks 0016). Dropped concurrently."""

import django.db.models.deletion
from django.db import migrations, models

from config.postgresql.operations import foreign_key_index_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("content", "0008_excerpt_by_person_database_default_again"),
        ("tasks", "0016_foreign_key_indexes_covered"),
    ]

    operations = [
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="approvalevent",
                name="task",
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                        related_name="approval_events", to="tasks.generationtask"),
            ),
            table="content_approvalevent", column="task_id", index="content_approvalevent_task_id_6a1050ff",
        ),
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="contentversion",
                name="task",
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                        related_name="versions", to="tasks.generationtask"),
            ),
            table="content_contentversion", column="task_id", index="content_contentversion_task_id_afe50687",
        ),
    ]
