"""Steps of migrations that run while the site serves (`manage.py migrate` beside the old release):
none holds a lock that stops the blog's reads or the engine's writes for longer than one batch.

`fill_in_batches` writes a derived column a thousand rows at a time, each batch committed on its
own (the caller's migration is `atomic = False`); `in_locked_batches` hands rows that Python
derives anew to the caller a batch at a time, each batch locked in a transaction of its own;
`create_index_concurrently` builds an index
without locking out writes, and can run again after a stop midway (PostgreSQL leaves an interrupted
concurrent build behind as an invalid index, which `IF NOT EXISTS` alone would keep). Imported by
migrations of every app, so it lives in the lowest one and imports nothing of Pressroom."""

from __future__ import annotations

from django.db import transaction

BATCH = 1000


def fill_in_batches(schema_editor, *, table: str, assignments: str, alias: str = "p", batch: int = BATCH) -> int:
    """`UPDATE table AS alias SET assignments` for every row, `batch` rows (by primary key) per
    statement; returns how many rows were written. Outside a transaction each statement commits."""
    first = (f"WITH batch AS (SELECT id FROM {table} ORDER BY id LIMIT {batch}), "
             f"done AS (UPDATE {table} AS {alias} SET {assignments} FROM batch WHERE {alias}.id = batch.id) "
             # The text of a UUID sorts as the UUID does (in the "C" collation): the batch's last id.
             'SELECT count(*), max(id::text COLLATE "C") FROM batch')
    after = first.replace(f"FROM {table} ORDER BY id", f"FROM {table} WHERE id > %s::uuid ORDER BY id")
    written, last = 0, None
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(first if last is None else after, [] if last is None else [last])
            count, last = cursor.fetchone()
            written += count
            if count < batch:
                return written


def create_index_concurrently(schema_editor, *, name: str, definition: str) -> None:
    """`CREATE INDEX CONCURRENTLY name definition` (`definition`: "ON table USING …"), after
    dropping an invalid index of that name left by an interrupted build."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = %s", [name])
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        cursor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")


def in_locked_batches(queryset, handle, *, size: int) -> None:
    """`handle(batch)` for every row of `queryset`, `size` rows at a time in primary-key order,
    each batch in a transaction of its own with its rows locked (FOR UPDATE of the queryset's own
    table): a row saved meanwhile is waited for and read as saved, never overwritten with what its
    old value gave, and an editor's save waits for one batch, not for the whole table."""
    queryset, last = queryset.order_by("pk"), None
    while True:
        with transaction.atomic():
            rows = queryset if last is None else queryset.filter(pk__gt=last)
            batch = list(rows.select_for_update(of=("self",))[:size])
            handle(batch)
        if len(batch) < size:
            return
        last = batch[-1].pk
