from django.db import migrations


def create_schedule(apps, schema_editor):
    """Every day, delete old webhook attempts and notification lines and expired refresh tokens
    (publishing.jobs.housekeeping)."""
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="pressroom-housekeeping",
        defaults={"func": "publishing.jobs.housekeeping", "schedule_type": "D", "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="pressroom-housekeeping").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("publishing", "0009_sync_groups_cost_budgets"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
