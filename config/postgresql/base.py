"""Django's PostgreSQL backend, with a connection health check that needs no round trip.

With `CONN_HEALTH_CHECKS`, Django checks a persistent connection before its first use in each
request by sending `SELECT 1`: one more statement for PostgreSQL and one more round trip for every
request that touches the database. A connection the server ended (a restart, an idle timeout,
`pg_terminate_backend`) has its socket readable before anything is sent: the server's last
message, or the end of the stream. So a connection that psycopg reports open, outside any
transaction, with nothing waiting to be read, is usable as it is; in any other case (data waiting,
an error earlier in the request, a transaction left open) Django's `SELECT 1` decides.
"""

from __future__ import annotations

import select
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        if self.connection.closed or self.connection.pgconn.status != pq.ConnStatus.OK:
            return False
        if self.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE and not readable(self.connection):
            return True
        return super().is_usable()


def readable(connection) -> bool:
    """True when the server has sent something the connection has not read (or closed it); a psycopg
    connection, sync or async (the channel layer's pool checks its connections so too)."""
    try:
        poller = select.poll()  # not select(): a process with a thousand sockets has fds past 1024
        poller.register(connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True  # let the query find out


@contextmanager
def planned_for_its_values(model=None):
    """Run what is inside with every statement on the database that reads of `model` use (the
    router's choice; the default database without one) planned for its own parameter values.

    A prepared statement (DATABASE_PREPARED_STATEMENTS) that has run five times may be given one
    generic plan, made without its values, when PostgreSQL estimates that plan no dearer. For a
    query whose best plan depends on the values that estimate can be far off: the post page's
    related-posts query, prepared for one post, took 57 ms instead of 11 with its generic plan.
    Inside, `plan_cache_mode` is `force_custom_plan` until the transaction ends: the statements
    stay prepared (parsed once) and are planned each time, as without preparing.

    Outside a transaction one is opened here for the block, and an error inside rolls it back.
    Inside one (a caller's `atomic`, a test's) the setting is made in it and holds to its end;
    no block of its own is opened there, so an error raised inside (a 404, a 403) reaches the
    caller's transaction untouched instead of marking it for rollback.
    """
    using = router.db_for_read(model) if model is not None else DEFAULT_DB_ALIAS
    connection = connections[using]
    if connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        yield
        return
    if connection.in_atomic_block:
        _plan_for_values(connection)
        yield
        return
    with transaction.atomic(using=using):
        _plan_for_values(connection)
        yield


def _plan_for_values(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
