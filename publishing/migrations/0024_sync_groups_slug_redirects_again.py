"""The editorial groups' permissions are synced again, for databases that applied 0018 before it
synced them.

Migration 0018 created `SlugRedirect` (9ca28cf, 2026-12-03 12:24) and was edited 25 minutes later
to give Editors its view permission and Reviewers view and delete (0df014a, `publishing.roles`).
A database migrated in between has 0018 applied without them, and no later migration synced the
groups: its Editors could not see a post's old addresses and its Reviewers could not delete one.
Each group gains the permissions of `publishing.roles` it lacks; unlike the syncs of 0003–0018,
none is taken away, so where the groups already match (every other database) or an operator gave a
group more, nothing changes."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from publishing.roles import GROUP_PERMISSIONS


def add_missing_permissions(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, pairs in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(
            permission
            for app_label, codename in pairs
            for permission in Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        ))


class Migration(migrations.Migration):

    dependencies = [
        ("publishing", "0023_webhooks_recover_schedule_again"),
    ]

    operations = [migrations.RunPython(add_missing_permissions, migrations.RunPython.noop)]
