"""Create the Editors and Reviewers groups with the permissions in `publishing.roles`.

Permissions are normally created after all migrations ran (post_migrate); they are created here
first so that a fresh database gets its groups in the same `migrate`.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from publishing.roles import GROUP_PERMISSIONS


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, pairs in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        # A permission of a model that a later migration adds does not exist yet at this point of
        # the history; the migration adding it calls this again (`sync_groups`).
        permissions = [
            permission
            for app_label, codename in pairs
            for permission in Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        ]
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0001_initial"),
        ("content", "0002_append_only_triggers"),
        ("tasks", "0002_cache_events_catalog"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
