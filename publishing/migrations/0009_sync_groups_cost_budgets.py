"""Re-sync the editorial groups with `publishing.roles`: Reviewers set users' cost budgets."""

from django.db import migrations


def sync_groups(apps, schema_editor):
    from importlib import import_module

    import_module("publishing.migrations.0002_editorial_groups").create_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("publishing", "0008_webhooks_and_notifications"), ("tasks", "0007_cost_budgets")]

    operations = [migrations.RunPython(sync_groups, migrations.RunPython.noop)]
