"""No index of Pressroom's own tables is covered by another: every row written to a table writes
an entry in each of its indexes, so an index that another one beginning with the same columns
already serves costs every write and serves no read. Django gives every foreign key an index of its
own unless told `db_index=False`; the tables below each lost one that a composite index covered
(tasks 0016, content 0009, publishing 0025)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

OWN_APPS = ("tasks", "content", "publishing")

# Non-unique, non-partial btree indexes on plain columns (no expression), with their columns and
# operator classes, set against every other index of the same table whose leading columns and
# operator classes are the same: such an index answers every lookup the shorter one could.
COVERED_INDEXES = """
WITH idx AS (
    SELECT i.indrelid::regclass::text AS table_name, i.indexrelid::regclass::text AS index_name,
           string_to_array(i.indkey::text, ' ') AS columns, string_to_array(i.indclass::text, ' ') AS classes,
           i.indisunique AS is_unique, i.indpred IS NOT NULL AS is_partial, am.amname AS method
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    WHERE i.indrelid::regclass::text = ANY(%s)
)
SELECT short.table_name, short.index_name, long.index_name
FROM idx short JOIN idx long ON long.table_name = short.table_name AND long.index_name <> short.index_name
WHERE NOT short.is_unique AND NOT short.is_partial AND NOT long.is_partial
  AND short.method = 'btree' AND long.method = 'btree' AND NOT '0' = ANY(short.columns)
  AND cardinality(short.columns) <= cardinality(long.columns)
  AND short.columns = long.columns[1:cardinality(short.columns)]
  AND short.classes = long.classes[1:cardinality(short.classes)]
ORDER BY 1, 2, 3
"""


def own_tables() -> list[str]:
    """The tables of Pressroom's own models (a many-to-many table Django creates and owns apart)."""
    return sorted(model._meta.db_table for app in OWN_APPS for model in apps.get_app_config(app).get_models()
                  if not model._meta.auto_created)


@pytest.mark.django_db
def test_no_index_of_our_tables_is_covered_by_another():
    with connection.cursor() as cursor:
        cursor.execute(COVERED_INDEXES, [own_tables()])
        covered = cursor.fetchall()
    assert covered == [], (
        "An index is covered by another beginning with the same columns (give the foreign key "
        f"db_index=False and drop its index in a migration, as tasks 0016 does): {covered}")


@pytest.mark.django_db
def test_the_check_finds_a_covered_index():
    """The query above finds what it looks for: an index on `task_id` beside the unique
    (task_id, sequence) of the events, as Django built it before tasks 0016."""
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX "test_covered_event_task" ON "tasks_taskevent" ("task_id")')
        try:
            cursor.execute(COVERED_INDEXES, [own_tables()])
            covered = cursor.fetchall()
        finally:
            cursor.execute('DROP INDEX "test_covered_event_task"')
    assert covered == [("tasks_taskevent", "test_covered_event_task", "task_event_sequence_unique")]
