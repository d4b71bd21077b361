"""The monthly budgets count a task in the month it was last queued, at what it had spent then
plus its estimate while it runs. Existing tasks were last queued when created, as far as anything
recorded says."""

from decimal import Decimal

import django.utils.timezone
from django.db import migrations, models


def queued_when_created(apps, schema_editor):
    GenerationTask = apps.get_model("tasks", "GenerationTask")
    GenerationTask.objects.update(queued_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0008_awaiting_review_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="generationtask",
            name="cost_at_queueing",
            field=models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=12,
                                      help_text="What the task had spent when last queued."),
        ),
        migrations.AddField(
            model_name="generationtask",
            name="queued_at",
            field=models.DateTimeField(default=django.utils.timezone.now,
                                       help_text="When the task was last queued: created, retried or sent back for a revision."),
        ),
        migrations.RunPython(queued_when_created, migrations.RunPython.noop),
    ]
