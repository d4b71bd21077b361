"""Re-sync the editorial groups with `publishing.roles`: both roles now see stage checkpoints."""

from django.db import migrations


def sync_groups(apps, schema_editor):
    from importlib import import_module

    import_module("publishing.migrations.0002_editorial_groups").create_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("publishing", "0002_editorial_groups"), ("tasks", "0003_engine_fields_checkpoints")]

    operations = [migrations.RunPython(sync_groups, migrations.RunPython.noop)]
