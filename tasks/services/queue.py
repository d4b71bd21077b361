"""The queue: claiming the next task and waking workers.

django-q2 has no priorities, so its jobs are only wake-up calls: each job claims the best task
from `GenerationTask` itself, highest priority first and oldest first within a priority, with
`SELECT … FOR UPDATE SKIP LOCKED`. Any number of workers on any number of machines can claim
at once and no task is claimed twice; concurrency is bounded by the worker count.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from tasks.events import append_events, draft_event
from tasks.models import EventKind, GenerationTask, Phase, Status
from tasks.transitions import change_status

logger = logging.getLogger(__name__)

RUN_NEXT_TASK = "tasks.jobs.run_next_task"


def claim_next_task(*, worker: str) -> GenerationTask | None:
    """Make the next due queued task this worker's running task, or return None."""
    now = timezone.now()
    with transaction.atomic():
        task = (
            GenerationTask.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, available_at__lte=now)
            .order_by("-priority", "created_at")
            .first()
        )
        if task is None:
            return None
        change_status(task, Status.RUNNING)
        task.phase = Phase.NONE
        task.attempts += 1
        task.worker = worker
        task.heartbeat_at = now
        task.started_at = task.started_at or now
        task.deadline_at = now + timedelta(seconds=task.timeout_seconds)
        task.error = ""
        task.event_sequence += 1  # the row is locked: the started event's number, reserved in the same UPDATE
        task.save(
            update_fields=[
                "status", "phase", "attempts", "worker", "heartbeat_at", "started_at", "deadline_at", "error",
                "event_sequence", "updated_at",
            ]
        )
        started = draft_event(task, EventKind.STATUS,
                              message=f"Attempt {task.attempts} of {task.max_attempts} started.",
                              data={"attempt": task.attempts, "worker": worker})
        append_events(task, [started], last_sequence=task.event_sequence)
    return task


def wake_workers(count: int = 1, *, not_before=None) -> None:
    """Enqueue `count` wake-up jobs that a worker can see only once the current transaction commits.

    With the ORM broker the jobs are rows of the same database, inserted on the caller's connection
    inside its transaction: they commit with the task that needs them or not at all, and cost one
    INSERT each. With Redis they are pushed once the transaction commits (a worker must never wake
    before the task row is visible), through the process's broker; a push that fails is logged and
    left to the reconciler, which wakes workers for due tasks that got no job.
    """
    if count <= 0:
        return
    kwargs = {"not_before": not_before.isoformat()} if not_before else {}

    def enqueue():
        broker = enqueue_broker()
        for _ in range(count):
            async_task(RUN_NEXT_TASK, **kwargs, q_options={"task_name": "run_next_task", "broker": broker})

    if enqueues_in_transaction():
        enqueue()
        return

    def enqueue_after_commit():
        try:
            enqueue()
        except Exception:  # the reconciler wakes workers for due tasks that got no job
            logger.warning("Could not enqueue a wake-up job", exc_info=True)

    transaction.on_commit(enqueue_after_commit)


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


def enqueues_in_transaction() -> bool:
    """True with the ORM broker on the default database, the one task rows live in."""
    return Conf.ORM == DEFAULT_DB_ALIAS and not Conf.BROKER_CLASS


@functools.cache
def enqueue_broker():
    """The broker this process enqueues wake-up jobs through, built once.

    django-q2's `async_task` builds a new broker per call unless it is given one: for Redis a new
    client, hence a new TCP connection (and handshake) per job. One instance per process keeps one
    connection pool (redis-py's pool is thread-safe and starts afresh in a forked child).
    """
    if enqueues_in_transaction():
        return TransactionalOrmBroker()
    return get_broker()
