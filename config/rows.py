"""Model rows read and inserted by SQL written once per process, for what every API write does.

Building a query through the ORM costs ~0.15-0.3 ms of CPU each time, several times the round trip
to PostgreSQL, and the lookups of a task creation (the token's user, the default model) are the
same query every time. `one_row` writes such a query once per process (columns and table from the
model's metadata) and turns its row into an instance as the ORM would (`Model.from_db`, which also
marks it as loaded from that database). It serves only models whose columns need no conversion
from the database (no JSON or custom fields), which it checks when it writes the query.
`insert_row` inserts a new instance as `save()` would, and `insert_rows` several as
`bulk_create` would, by an INSERT written once per model (the ORM spent ~0.4 ms of CPU assembling
a task's 45-column INSERT for every creation, and ~0.25 ms on its first event's).
`add_to_totals` adds amounts to rows of running totals (the metrics' tallies of what left the
tables they count), inserting a row the first time its key is seen.
"""

from __future__ import annotations

from functools import cache

from django.contrib.postgres.fields import ArrayField
from django.db import connections, models, router, transaction
from django.db.models.expressions import DatabaseDefault
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import Query


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


def insert_row(instance: models.Model, *, using: str | None = None) -> models.Model:
    """Insert `instance`, not yet saved, as `instance.save(force_insert=True)` would: each field's
    `pre_save` (auto_now_add, …) and database preparation, the same pre_save and post_save signals,
    a pk made by the database read back, `_state` marked as saved; errors are the ORM's
    (IntegrityError, an unsaved related object). The INSERT is written once per model and
    database. A field with a database default (`db_default`) that the instance leaves to it gets
    it, and reads it back, as `save` does: the statement writes `COALESCE(value, default)`, so it
    stays one text whether the value is given or not, which is why only a NOT NULL column's
    default, and one without parameters, is taken. A model whose save the ORM does differently (a
    `save` of its own, inherited tables, generated fields, other database defaults, placeholders
    other than an array's) is refused with TypeError when the statement is written; a value that
    is an expression goes through `save`."""
    model = type(instance)
    meta = model._meta
    using = using or router.db_for_write(model, instance=instance)
    instance._prepare_related_fields_for_save(operation_name="save")
    if instance._get_pk_val(meta) is None:
        instance._set_pk_val(meta.pk.get_pk_value_on_save(instance))
    pk_set = instance._get_pk_val(meta) is not None
    sql, fields, returning = _insert(model, using, pk_set, rows=1, by_save=True)
    if any(_is_expression(getattr(instance, field.attname)) for field in fields):
        instance.save(force_insert=True, using=using)
        return instance
    # As save_base: the signal first (its receivers may still change the instance), then the values.
    pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=None)
    _execute([instance], sql, fields, returning, using=using,
             refusal=f"A pre_save receiver set an expression on a {model.__name__}; use save().")
    post_save.send(sender=model, instance=instance, created=True, update_fields=None, raw=False, using=using)
    return instance


def insert_rows(instances: list[models.Model], *, using: str | None = None) -> list[models.Model]:
    """Insert `instances` (new rows of one model) in one INSERT as `bulk_create` would: no save()
    and no signals, each field's `pre_save` and database preparation, the pks the database made
    read back in order, `_state` marked as saved. Written once per model, database and number of
    rows; refused (TypeError) for the models `insert_row` refuses, except for a `save` of their own,
    which bulk_create does not call either."""
    if not instances:
        return instances
    model = type(instances[0])
    meta = model._meta
    using = using or router.db_for_write(model)
    for instance in instances:
        if type(instance) is not model:
            raise TypeError("insert_rows inserts rows of one model.")
        if instance._get_pk_val(meta) is None:
            instance._set_pk_val(meta.pk.get_pk_value_on_save(instance))
        instance._prepare_related_fields_for_save(operation_name="bulk_create")
    pk_set = {instance._get_pk_val(meta) is not None for instance in instances}
    if len(pk_set) > 1:
        raise TypeError("insert_rows inserts rows that all have a pk, or none; use bulk_create().")
    sql, fields, returning = _insert(model, using, pk_set.pop(), rows=len(instances), by_save=False)
    _execute(instances, sql, fields, returning, using=using,
             refusal="insert_rows inserts values, not expressions; use bulk_create().")
    return instances


def _execute(instances: list, sql: str, fields: tuple, returning: tuple, *, using: str, refusal: str) -> None:
    """Run the INSERT `sql` of `instances`: each field's `pre_save` value prepared for the database
    as the ORM prepares it (TypeError `refusal` for an expression), the returned columns set on the
    instances in order, and their `_state` marked as saved."""
    connection = connections[using]
    params = []
    for instance in instances:
        values = [None if isinstance(value, DatabaseDefault) else value  # COALESCE(NULL, default)
                  for value in (field.pre_save(instance, True) for field in fields)]
        if any(_is_expression(value) for value in values):
            raise TypeError(refusal)
        params += [field.get_db_prep_save(value, connection) for field, value in zip(fields, values)]
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            for instance, row in zip(instances, cursor.fetchall(), strict=True):
                for field, value in zip(returning, row):
                    setattr(instance, field.attname, value)
    for instance in instances:
        instance._state.db, instance._state.adding = using, False


@cache
def _insert(model, using: str, pk_set: bool, *, rows: int, by_save: bool) -> tuple[str, tuple, tuple]:
    meta = model._meta
    connection = connections[using]
    if (by_save and model.save is not models.Model.save) or meta.parents or meta.proxy:
        raise TypeError(f"{model.__name__} is saved otherwise than by one INSERT; use save().")
    fields = tuple(field for field in meta.local_concrete_fields if pk_set or field is not meta.auto_field)
    for field in fields:
        if field.generated or (field.has_db_default() and field.null):
            raise TypeError(f"{model.__name__}.{field.name} is inserted otherwise than as a value; use save().")
    returning = tuple(meta.db_returning_fields) if connection.features.can_return_columns_from_insert else ()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(_placeholder(model, field, connection) for field in fields) + ")"
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}"
    if returning:
        sql += " RETURNING " + ", ".join(quote(field.column) for field in returning)
    elif not pk_set:
        raise TypeError(f"{model.__name__}'s new pk cannot be read back from this database; use save().")
    return sql, fields, returning


def _is_expression(value) -> bool:
    """A value the INSERT cannot carry as a parameter (a database default is written in it)."""
    return hasattr(value, "resolve_expression") and not isinstance(value, DatabaseDefault)


def _placeholder(model, field, connection) -> str:
    """The field's placeholder in an INSERT: %s, an array's %s::type (the same for any value), or
    for a database default `COALESCE(%s::type, default)`, NULL standing for "not given"."""
    if field.has_db_default():
        query = Query(model)
        default, params = query.get_compiler(connection=connection).compile(
            field._db_default_expression.resolve_expression(query))
        if params or hasattr(field, "get_placeholder"):
            raise TypeError(f"{model.__name__}.{field.name}'s database default is not written once; use save().")
        return f"COALESCE(%s::{field.db_type(connection)}, {default})"
    if not hasattr(field, "get_placeholder"):
        return "%s"
    if isinstance(field, ArrayField):
        return field.get_placeholder(None, None, connection)
    raise TypeError(f"{model.__name__}.{field.name} has a placeholder of its own; use save().")


def add_to_totals(model, keys: tuple[str, ...], amounts: tuple[str, ...], rows) -> None:
    """Add to `model`'s totals: each of `rows` is the values of the fields `keys` (a unique key of
    the table) and then of `amounts`, added to the row with that key, or inserted as it when there
    is none. One statement for all of them (INSERT … ON CONFLICT DO UPDATE, which two concurrent
    callers cannot race); nothing when `rows` is empty."""
    rows = list(rows)
    if not rows:
        return
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(model._meta.get_field(name).column) for name in (*keys, *amounts)]
    added = ", ".join(f"{column} = {table}.{column} + EXCLUDED.{column}" for column in columns[len(keys):])
    one = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(rows))} "
            f"ON CONFLICT ({', '.join(columns[:len(keys)])}) DO UPDATE SET {added}",
            [value for row in rows for value in row],
        )
