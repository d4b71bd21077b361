"""History cannot be rewritten: versions are never updated; audit rows never updated nor deleted.

Versions may still go with their task (ON DELETE CASCADE from a task delete); audit rows may not,
and their PROTECT foreign keys keep the task and version they speak of.
"""

from django.db import migrations

from tasks.models.append_only import forbid_change_sql

VERSIONS_FORWARD, VERSIONS_REVERSE = forbid_change_sql("content_contentversion", operations="UPDATE")
AUDIT_FORWARD, AUDIT_REVERSE = forbid_change_sql("content_approvalevent", operations="UPDATE OR DELETE")


class Migration(migrations.Migration):
    dependencies = [("content", "0001_initial"), ("tasks", "0002_cache_events_catalog")]

    operations = [
        migrations.RunSQL(VERSIONS_FORWARD, VERSIONS_REVERSE),
        migrations.RunSQL(AUDIT_FORWARD, AUDIT_REVERSE),
    ]
