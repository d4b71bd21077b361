"""Transaction-scoped PostgreSQL advisory locks: the one way Pressroom makes two transactions take
turns where a constraint can refuse the loser but cannot order them.

`advisory_xact_lock(namespace, key)` waits for `pg_advisory_xact_lock(namespace, key)`, which is
held until the surrounding transaction ends (so it is called inside one). Each rule that takes
turns has its namespace here, so two rules never share a lock by accident:

- `BUDGETS`: a month's spend is summed before a task is queued (`tasks.services.budgets`); key 0
  is the site's budget, any other a user's.
- `NOTIFICATION_DIGESTS`: one pending digest per recipient (`publishing.webhooks.notifications`);
  the key is the recipient's id.
- `PUBLIC_NAMES`: a new post's slug, and a new category or tag, are chosen while no other
  publication chooses one (`publishing.services.posts`); one key. A person's save of a post,
  category or tag, and a deletion of categories or tags, take it too, before any row: a deletion
  then sees every post that names what it deletes, and no one holds a row it needs while waiting
  for the lock (which was a deadlock).
- `DEMO_ACCOUNTS`: `manage.py create_demo_accounts` runs once at a time, so a second run finds the
  accounts the first made instead of failing on their names; one key.

`rows_kept(...)` is the other half of taking turns: a row that was read before the transaction
began (an account, a task, a subscription) and that a new row is about to name is checked again
and kept from deletion until the transaction ends (`FOR KEY SHARE`, which an update of the row's
other fields does not wait for). Without it, a delete that commits in between makes the insert
fail on its foreign key at commit: an IntegrityError, a 500, and the transaction's other work lost.

`rows_locked_to_delete(queryset)` is its counterpart for a service that deletes rows which
nothing else is locked before (webhook subscriptions; categories and tags, under their name lock):
the rows are locked first (FOR UPDATE, in key order), so a transaction that keeps one of them is
waited for, and the deletion, which collects the rows naming them only after this lock, sees what
it wrote; one that comes later waits for the deletion and finds the row gone. Not for rows that a
verb reaches after locking other rows the deletion also needs (an account, kept after its task is
locked): locked first, those deadlock with the verb; the admin's generic deletion keeps Django's
order instead (`config.admin_site.SiteRulesMixin`).
"""

from __future__ import annotations

from functools import cache

from django.db import connection, models, transaction

BUDGETS = 0x50524247  # "PRBG"
NOTIFICATION_DIGESTS = 7_013_000
PUBLIC_NAMES = 0x5052504E  # "PRPN"
DEMO_ACCOUNTS = 0x50524441  # "PRDA"
KEYS = 2**31  # both arguments are int4: a key is folded into 0 … 2**31 - 1


def advisory_xact_lock(namespace: int, key: int = 0) -> None:
    """Wait until this transaction holds the lock (`namespace`, `key`); it is released when the
    transaction ends. Two keys that fold onto one slot only make their holders wait for each other."""
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("An advisory lock is taken inside the transaction it guards.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, int(key) % KEYS])


def advisory_xact_lock_if_free(namespace: int, key: int = 0) -> bool:
    """Take the lock (`namespace`, `key`) for this transaction if nobody holds it now (True), or
    answer False at once, without waiting for whoever does."""
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("An advisory lock is taken inside the transaction it guards.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [namespace, int(key) % KEYS])
        return cursor.fetchone()[0]


def rows_kept(*rows: tuple[type[models.Model], object]) -> tuple[bool, ...]:
    """For each `(model, pk)`, whether that row still exists, each one found then kept from
    deletion until this transaction ends (FOR KEY SHARE); one statement for all of them."""
    kept, _ = rows_kept_with("", [], *rows)
    return kept


def rows_kept_with(also: str, params: list, *rows: tuple[type[models.Model], object]) -> tuple[tuple[bool, ...], object]:
    """`rows_kept`, and the value of `also` (a query of one value, with `params`; "" for none) read
    in the same statement: one round trip where a caller would make two."""
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("Rows are kept inside the transaction that needs them.")
    sql = _kept_sql(tuple(model for model, _ in rows), also)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk for _, pk in rows] + list(params))
        values = cursor.fetchone()
    return tuple(values[:len(rows)]), (values[len(rows)] if also else None)


def rows_locked_to_delete(queryset) -> list:
    """The keys of `queryset`'s rows that still exist, each locked (FOR UPDATE, in key order, so two
    deletions never wait for each other crosswise) until this transaction ends; delete them after."""
    rows = queryset.model._base_manager.select_for_update()
    if transaction.get_autocommit(using=rows.db):
        raise transaction.TransactionManagementError("Rows are locked inside the transaction that deletes them.")
    return list(rows.filter(pk__in=queryset.values("pk")).order_by("pk").values_list("pk", flat=True))


@cache
def _kept_sql(models_: tuple[type[models.Model], ...], also: str) -> str:
    quote = connection.ops.quote_name
    tests = [f"EXISTS (SELECT 1 FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s "
             "FOR KEY SHARE)" for model in models_]
    return "SELECT " + ", ".join(tests + ([f"({also})"] if also else []))
