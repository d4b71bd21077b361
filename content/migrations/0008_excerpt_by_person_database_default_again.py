"""`excerpt_by_person` gets its database default again, where an edited migration left it without.

Migration 0006 added the column without a database default (081288d, 2026-12-03 06:10) and was
edited 51 minutes later to add one (16a5cbb: a worker of the release before, which does not know the
column, inserts versions without it and failed every stage). Django never applies a migration twice,
so a database migrated in between kept the column without its default while every later migration
and `migrate`'s own bookkeeping say it has one: the next rolling upgrade's old workers would fail on
it. Setting the default where it is already set changes nothing. Going back leaves it: it is
0006's."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("content", "0007_audit_trail_plural_entries"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE content_contentversion ALTER COLUMN excerpt_by_person SET DEFAULT false",
            migrations.RunSQL.noop,
        ),
    ]
