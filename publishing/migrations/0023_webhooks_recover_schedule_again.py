"""The webhooks' minute sweep is scheduled again where an edited migration never scheduled it.

Migration 0008 created the webhook tables (3b6a7e2, 2026-11-30 23:55) and was edited eleven minutes
later to also schedule `publishing.webhooks.jobs.recover` every minute (32caa73). A database
migrated in between has 0008 applied without the schedule, and nothing else creates it: attempts
and digests whose job was lost were never sent, and attempts a dead worker left stayed `sending`.
The schedule is created only where it is missing; one an operator changed is left as it is. Going
back leaves it: it is 0008's."""

from django.db import migrations

NAME = "pressroom-webhooks-recover"


def schedule_where_missing(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME,
        defaults={"func": "publishing.webhooks.jobs.recover", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


class Migration(migrations.Migration):

    dependencies = [
        ("publishing", "0022_pruned_delivery_totals"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule_where_missing, migrations.RunPython.noop)]
