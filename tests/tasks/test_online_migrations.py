"""The steps migrations take while the site serves (`tasks/online_migrations.py`)."""

from __future__ import annotations

import pytest
from django.db import connection

from tasks.online_migrations import create_index_concurrently, fill_in_batches


@pytest.fixture
def scratch_table(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE pressroom_test_scratch (id uuid PRIMARY KEY, a int NOT NULL, b int)")
        cursor.execute("INSERT INTO pressroom_test_scratch SELECT gen_random_uuid(), g % 3, NULL "
                       "FROM generate_series(1, 7) g")
    try:
        yield "pressroom_test_scratch"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE pressroom_test_scratch")


def test_a_fill_in_batches_writes_every_row_once_whatever_the_batch(scratch_table):
    written = fill_in_batches(connection.schema_editor(), table=scratch_table,
                              assignments="b = coalesce(p.b, 0) + p.a + 1", batch=3)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FILTER (WHERE b = a + 1), count(*) FROM {scratch_table}")
        assert cursor.fetchone() == (7, 7)
    assert written == 7


def test_an_index_build_left_invalid_by_a_stop_is_built_again(scratch_table):
    """An interrupted CREATE INDEX CONCURRENTLY leaves an invalid index of its name, which
    `IF NOT EXISTS` alone would take for the index and keep."""
    with connection.cursor() as cursor, pytest.raises(Exception):
        cursor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY pressroom_test_scratch_a ON {scratch_table} (a)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = 'pressroom_test_scratch_a'")
        assert cursor.fetchone() == (False,)
    create_index_concurrently(connection.schema_editor(), name="pressroom_test_scratch_a",
                              definition=f"ON {scratch_table} (a)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                       "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'pressroom_test_scratch_a'")
        valid, definition = cursor.fetchone()
    assert valid and "UNIQUE" not in definition
