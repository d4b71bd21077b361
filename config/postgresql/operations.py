"""Migration operations that keep a serving site's tables open while they change."""

from __future__ import annotations

from django.db import migrations


def foreign_key_index_dropped(alter_field: migrations.AlterField, *, table: str, column: str,
                              index: str) -> migrations.SeparateDatabaseAndState:
    """`alter_field`, which makes a foreign key `db_index=False` because a composite index starting
    with its column already serves every lookup by it, with Django's index on the column dropped
    CONCURRENTLY: Django's own `AlterField` would drop it with a plain `DROP INDEX`, whose exclusive
    lock waits behind every running read of the table and holds every later one back meanwhile.
    Migrating back builds the index again, concurrently too. Its migration must be `atomic = False`."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[alter_field],
        database_operations=[migrations.RunSQL(
            f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"',
            reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
        )],
    )
