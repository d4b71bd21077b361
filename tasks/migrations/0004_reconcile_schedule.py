"""The reconciler's django-q2 schedule: every minute, recover vanished runs and wake workers."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="pressroom-reconcile",
        defaults={"func": "tasks.jobs.reconcile", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="pressroom-reconcile").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0003_engine_fields_checkpoints"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
