"""Model rows read by SQL written once per process, for the few lookups every API write makes.

Building a query through the ORM costs ~0.15-0.3 ms of CPU each time, several times the round trip
to PostgreSQL, and the lookups of a task creation (the token's user, the default model) are the
same query every time. `one_row` writes such a query once per process (columns and table from the
model's metadata) and turns its row into an instance as the ORM would (`Model.from_db`, which also
marks it as loaded from that database). It serves only models whose columns need no conversion
from the database (no JSON or custom fields), which it checks when it writes the query.
"""

from __future__ import annotations

from functools import cache

from django.db import connections, router


@cache
def _select(model, where: str, extra: str) -> tuple[str, tuple[str, ...]]:
    fields = model._meta.concrete_fields
    for field in fields:
        if field.get_db_converters(connections[router.db_for_read(model)]):
            raise TypeError(f"{model.__name__}.{field.name} needs a conversion from the database; use the ORM.")
    columns = ", ".join([f'"{field.column}"' for field in fields] + ([extra] if extra else []))
    return f'SELECT {columns} FROM "{model._meta.db_table}" WHERE {where} LIMIT 2', tuple(f.attname for f in fields)


def one_row(model, where: str, params=()):
    """The one `model` row matching `where` (SQL with %s placeholders; column names quoted), as
    `model.objects.get(...)` would return it: `DoesNotExist` when there is none and
    `MultipleObjectsReturned` when there are several, with the ORM's messages."""
    instance, _ = _one(model, where, params, extra="")
    return instance


def one_row_with(model, extra: str, where: str, params=()):
    """`one_row`, and the value of `extra`, one more SQL expression read in the same query (a
    correlated subquery, say): (instance, value)."""
    return _one(model, where, params, extra=extra)


def _one(model, where: str, params, *, extra: str):
    sql, names = _select(model, where, extra)
    using = router.db_for_read(model)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchmany(2)
    if not rows:
        raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
    if len(rows) > 1:
        raise model.MultipleObjectsReturned(f"get() returned more than one {model._meta.object_name} -- it returned 2!")
    row = rows[0]
    return model.from_db(using, names, row[:len(names)]), (row[len(names)] if extra else None)
