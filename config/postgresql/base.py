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
        if self.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE and not _readable(self.connection):
            return True
        return super().is_usable()


def _readable(connection) -> bool:
    """True when the server has sent something the connection has not read (or closed it)."""
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
    Inside, `plan_cache_mode` is `force_custom_plan` until the transaction ends (one is opened
    here if none is; inside one, it holds to that one's end):
    the statements stay prepared (parsed once) and are planned each time, as without preparing.
    """
    using = router.db_for_read(model) if model is not None else DEFAULT_DB_ALIAS
    if connections[using].settings_dict["OPTIONS"].get("prepare_threshold") is None:
        yield
        return
    with transaction.atomic(using=using, savepoint=False), connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
        yield
