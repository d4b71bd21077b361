"""The queue: claiming the next task and waking workers.

django-q2 has no priorities, so its jobs are only wake-up calls: each job claims the best task
from `GenerationTask` itself, highest priority first and oldest first within a priority, with
`SELECT … FOR UPDATE SKIP LOCKED`. Any number of workers on any number of machines can claim
at once and no task is claimed twice; concurrency is bounded by the worker count.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from config.outages import log_failure
from tasks.events import broadcast_after_commit, draft_event
from tasks.models import EventKind, GenerationTask, Phase, Status

logger = logging.getLogger(__name__)

RUN_NEXT_TASK = "tasks.jobs.run_next_task"


def claim_next_task(*, worker: str) -> GenerationTask | None:
    """Make the next due queued task this worker's running task, or return None.

    One statement, which commits by itself outside a transaction: the next due queued task is
    picked and locked (`FOR UPDATE SKIP LOCKED`, so concurrent workers never pick the same row),
    made running
    (attempt +1, this worker, heartbeat now, a deadline of now + `timeout_seconds`) with the
    started event's sequence number reserved, and its "Attempt n of m started." event inserted,
    all in one `WITH` query: no transaction of five round trips (BEGIN, SELECT, UPDATE, INSERT,
    COMMIT). The `status = queued` of the UPDATE is the transition table's queued → running; the
    event is broadcast once the statement has committed.

    What the claim decides is decided on the database server's clock (`statement_timestamp()`),
    not this machine's: whether a task is due is judged on the clock its `available_at` (a
    backoff) was set from, and the heartbeat and the deadline are a lease that the reconciler, on
    any machine, judges against that same clock. So a worker whose clock is off neither skips a
    backoff nor loses its task at once (behind), nor stretches a backoff or keeps a task past its
    time (ahead). `started_at` is the database's time too (the outcome's `finished_at` will be);
    the event's time is this worker's clock, as the run's other events' are.
    """
    now = timezone.now()
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(claim_sql(), {"now": now, "worker": worker, "phase": Phase.NONE, "kind": EventKind.STATUS})
        row = cursor.fetchone()
    if row is None:
        return None
    task = _task_from_row(connection, row)
    message, data = row[-2:]
    data = json.loads(data) if isinstance(data, str) else data  # Django reads jsonb as text; only fields decode it
    started = draft_event(task, EventKind.STATUS, message=message, data=data)
    started.sequence, started.created_at = task.event_sequence, now
    broadcast_after_commit(task, [started])
    return task


# The claim (`claim_next_task`). `picked` matches the order of the queue's index (priority, then
# age); the UPDATE's own `status = queued` re-checks the row it locked. The event's message and
# data are made here, from the attempt the UPDATE counted, and returned for the broadcast. Whether
# a task is due, the lease (heartbeat, deadline) and `started_at` are the database's clock (one time
# for the whole statement); the event's time and `updated_at` are the worker's, `%(now)s`.
CLAIM_SQL = """
WITH picked AS (
    SELECT id FROM tasks_generationtask
    WHERE status = {queued} AND available_at <= statement_timestamp()
    ORDER BY priority DESC, created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE tasks_generationtask AS t
    SET status = {running}, phase = %(phase)s, attempts = t.attempts + 1, worker = %(worker)s,
        heartbeat_at = statement_timestamp(), started_at = COALESCE(t.started_at, statement_timestamp()),
        deadline_at = statement_timestamp() + t.timeout_seconds * interval '1 second', error = '',
        event_sequence = t.event_sequence + 1, updated_at = %(now)s
    FROM picked
    WHERE t.id = picked.id AND t.status = {queued}
    RETURNING {task_columns}
), started AS (
    INSERT INTO tasks_taskevent (task_id, sequence, kind, status, phase, progress, message, data, created_at)
    SELECT id, event_sequence, %(kind)s, status, phase, progress,
           format('Attempt %%s of %%s started.', attempts, max_attempts),
           jsonb_build_object('attempt', attempts, 'worker', %(worker)s::text), %(now)s
    FROM claimed
    RETURNING message, data
)
SELECT claimed.*, started.message AS started_message, started.data AS started_data FROM claimed, started
"""


def _task_from_row(connection, row) -> GenerationTask:
    """The task of the claim's row (its columns in `claim_sql`'s order, then the event's two),
    converted as a queryset converts them (the JSON fields): what `QuerySet.raw` does, without
    working out the columns and converters again for every claim."""
    values = list(row[:-2])
    for position, converters, column in _task_converters(connection.alias):
        for converter in converters:
            values[position] = converter(values[position], column, connection)
    return GenerationTask.from_db(connection.alias, _task_attnames(), values)


@functools.cache
def _task_attnames() -> list[str]:
    return [field.attname for field in GenerationTask._meta.concrete_fields]


@functools.cache
def _task_converters(alias: str) -> list[tuple[int, list, object]]:
    connection = connections[alias]
    converters = []
    for position, field in enumerate(GenerationTask._meta.concrete_fields):
        column = field.get_col(GenerationTask._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((position, found, column))
    return converters


@functools.cache
def claim_sql() -> str:
    """CLAIM_SQL as prepared statements need it: the task's columns by name, as this code's model
    has them (a `t.*` would fail with "cached plan must not change result type" on every connection
    that prepared it before a migration added a column), and the two statuses written in, not
    bound: a plan made for any `status = $1` (PostgreSQL's generic plan of a prepared statement)
    cannot use the queue's partial index, which holds the queued rows alone, and would sort them all."""
    columns = ", ".join(f't."{field.column}"' for field in GenerationTask._meta.concrete_fields)
    statuses = {"{queued}": Status.QUEUED.value, "{running}": Status.RUNNING.value}
    sql = CLAIM_SQL.replace("{task_columns}", columns)
    for placeholder, status in statuses.items():
        assert status.isidentifier(), status  # a constant of the code, written in as a literal
        sql = sql.replace(placeholder, f"'{status}'")
    return sql


def wake_workers(count: int = 1, *, not_before=None) -> None:
    """Enqueue `count` wake-up jobs that a worker can see only once the current transaction commits.

    With the ORM broker the jobs are rows of the same database, inserted on the caller's connection
    inside its transaction: they commit with the task that needs them or not at all, and cost one
    INSERT each. With Redis they are pushed once the transaction commits (a worker must never wake
    before the task row is visible), through the process's broker; a push that fails is logged and
    left to the reconciler, which wakes workers for due tasks that got no job.

    A wake-up that succeeds leaves no django-q2 result (`save: False`; one that fails still does):
    what it did is the task's own record, and with a save limit the cluster's monitor reads every
    kept result, locked, to prune one, for each result it saves: with the settings' 1,000 kept,
    as much CPU per task as the worker that ran it (`bench/kept_results.py`).
    """
    if count <= 0:
        return
    kwargs = {"not_before": not_before.isoformat()} if not_before else {}

    def enqueue():
        broker = enqueue_broker()
        for _ in range(count):
            async_task(RUN_NEXT_TASK, **kwargs, q_options={"task_name": "run_next_task", "broker": broker, "save": False})

    if enqueues_in_transaction():
        enqueue()
        return

    def enqueue_after_commit():
        try:
            enqueue()
        except Exception as error:  # the reconciler wakes workers for due tasks that got no job
            log_failure(logger, error, "Could not enqueue a wake-up job (%s)")

    transaction.on_commit(enqueue_after_commit)


# The `lock` of a wake-up job not yet taken: past on every cluster's clock, however far off, and
# one that every time zone can show (the admin lists queued jobs).
TAKEN_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


class TransactionalOrmBroker(ORM):
    """django-q2's ORM broker on the caller's connection and in the caller's transaction.

    The stock broker calls `close_old_connections()` before each use outside a transaction, which
    suits the cluster's long-lived polling thread but, in a web request or a service, closes the
    connection in use (a new one per enqueue with CONN_MAX_AGE=0) or costs another health-check
    round trip (with persistent connections). Here the connection belongs to the request or job
    that enqueues, which Django already recycles, so it is used as it is.
    """

    @staticmethod
    def get_connection(list_key: str | None = None):
        return OrmQ.objects.using(Conf.ORM)

    def enqueue(self, task) -> int:
        # The stock broker's row (key, payload, lock), inserted by SQL written once per process:
        # every task creation enqueues, and the ORM spent ~0.2 ms of CPU building the INSERT. A
        # cluster takes a row once its `lock` is past by the cluster's own clock; the stock broker
        # wrote this machine's now, so a web process whose clock was ahead hid the job that long.
        with connections[Conf.ORM].cursor() as cursor:
            cursor.execute(_ormq_insert_sql(), [self.list_key or Conf.CLUSTER_NAME, task, TAKEN_AT_ONCE])
            return cursor.fetchone()[0]


@functools.cache
def _ormq_insert_sql() -> str:
    meta = OrmQ._meta
    columns = ", ".join(f'"{meta.get_field(name).column}"' for name in ("key", "payload", "lock"))
    return f'INSERT INTO "{meta.db_table}" ({columns}) VALUES (%s, %s, %s) RETURNING "{meta.pk.column}"'


def enqueues_in_transaction() -> bool:
    """True with the ORM broker on the default database, the one task rows live in."""
    return Conf.ORM == DEFAULT_DB_ALIAS and not Conf.BROKER_CLASS


@functools.cache
def enqueue_broker():
    """The broker this process enqueues jobs through (wake-ups, and the webhooks' and
    notifications' jobs due now), built once.

    django-q2's `async_task` builds a new broker per call unless it is given one: for Redis a new
    client, hence a new TCP connection (and handshake) per job. One instance per process keeps one
    connection pool (redis-py's pool is thread-safe and starts afresh in a forked child).
    """
    if enqueues_in_transaction():
        return TransactionalOrmBroker()
    return get_broker()
