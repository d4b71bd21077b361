"""The reconciler: finds tasks whose worker vanished or overran, and wakes workers for due tasks.

Runs as a django-q2 schedule (every minute), when a cluster's worker process starts, and before
each wake-up job claims work, so a killed worker, a killed cluster, a restarted database or a
restarted machine loses nothing: a running task with a stale heartbeat is requeued (or ended, when
it was cancelled, ran out of time or used all its attempts), and queued tasks with no wake-up job
waiting get one.

Whether a run is lost is decided on the database server's clock, inside the statement that finds
lost runs (`statement_timestamp()`), as the claim and the watchdog stamp the heartbeat and the
deadline from it: a reconciler on a machine whose clock is ahead would otherwise take live tasks
from their workers (and run them twice), and one whose clock is behind would leave dead workers'
tasks waiting for as long. Whether a queued task is due, for the wake-ups, is judged on that
clock too, the one its `available_at` (a backoff) was set from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Now

from tasks.events import emit
from tasks.models import EventKind, GenerationTask, Phase, Status
from tasks.services.queue import wake_workers
from tasks.services.requeue import after_failed_run, requeue_or_give_up
from tasks.transitions import change_status

logger = logging.getLogger(__name__)

MAX_WAKEUPS_PER_PASS = 100


@dataclass
class ReconcileReport:
    checked_at: datetime | None = None  # the database's time when the pass looked for lost runs
    requeued: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    timed_out: list = field(default_factory=list)
    cancelled: list = field(default_factory=list)
    wakeups: int = 0

    @property
    def changed(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.timed_out) + len(self.cancelled)


def reconcile_tasks(*, pending_wakeups: int | None = None) -> ReconcileReport:
    report = ReconcileReport()
    stale_seconds = settings.PRESSROOM_HEARTBEAT_STALE_SECONDS
    # Usually there is nothing to recover: look first without a transaction or locks (one
    # statement, which also reads the database's time), and lock only when there is.
    any_lost, report.checked_at = _any_lost_run(stale_seconds)
    if any_lost:
        _settle_vanished(stale_seconds, report)
    if pending_wakeups is not None and pending_wakeups >= MAX_WAKEUPS_PER_PASS:
        due = 0  # as many wake-ups wait as a pass would add: no need to count the due tasks
    else:
        due = GenerationTask.objects.filter(status=Status.QUEUED, available_at__lte=Now()).count()
    if due:
        pending = _pending_wakeups() if pending_wakeups is None else pending_wakeups
        report.wakeups = max(0, min(due, MAX_WAKEUPS_PER_PASS) - pending)
        with transaction.atomic():
            wake_workers(report.wakeups)
    if report.changed:
        logger.info(
            "Reconciled: %s requeued, %s failed, %s timed out, %s cancelled",
            len(report.requeued), len(report.failed), len(report.timed_out), len(report.cancelled),
        )
    return report


@cache
def _lost_runs_sql() -> str:
    """The running tasks whose run is lost, with the database's time: no heartbeat for the
    staleness window (the parameter, in seconds), or a deadline more than the window ago — a run
    past its deadline by more than the window is hung even if its watchdog thread still beats (a
    main thread stuck in C code). The cut-off is the database server's time minus the window, the
    clock the claim and the beats stamp the lease with. SQL written once per process: every
    wake-up job asks before it claims, and the ORM spent about 0.25 ms of the worker's CPU
    building the query each time. The status is written in, so that a prepared statement's generic
    plan still reads the partial index of running tasks' heartbeats."""
    meta = GenerationTask._meta
    pk, status, heartbeat, deadline = (
        f'"{meta.get_field(name).column}"' for name in ("id", "status", "heartbeat_at", "deadline_at")
    )
    before = "statement_timestamp() - %s * interval '1 second'"
    return (f'SELECT {pk}, statement_timestamp() FROM "{meta.db_table}" '
            f"WHERE {status} = '{Status.RUNNING.value}' "
            f"AND ({heartbeat} < {before} OR {heartbeat} IS NULL OR {deadline} < {before})")


def _any_lost_run(stale_seconds: int) -> tuple[bool, datetime]:
    """Whether a run is lost, and the database's time."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS ({_lost_runs_sql()} LIMIT 1), statement_timestamp()",
                       [stale_seconds, stale_seconds])
        return cursor.fetchone()


def _locked_lost_runs(stale_seconds: int) -> list[tuple]:
    """(id, the database's time) of each lost run not being settled by another pass, locked."""
    with connection.cursor() as cursor:
        cursor.execute(_lost_runs_sql() + " FOR UPDATE SKIP LOCKED", [stale_seconds, stale_seconds])
        return cursor.fetchall()


def _settle_vanished(stale_seconds: int, report: ReconcileReport) -> None:
    with transaction.atomic():
        lost = _locked_lost_runs(stale_seconds)
        if not lost:
            return
        now = lost[0][1]  # the database's time: the deadline is judged on the clock that set it
        for task in GenerationTask.objects.filter(pk__in=[pk for pk, _ in lost]):
            _settle(task, now, report, stale_seconds=stale_seconds)


def _ran_to_its_deadline(task: GenerationTask, stale_seconds: int) -> bool:
    """Whether the run was still alive at its deadline: its heartbeat not yet stale then. One
    whose heartbeat was already stale at its deadline ended with its worker before it, and is
    requeued like any lost run, however late the reconciler finds it (a database restored from a
    dump hours old, a cluster down longer than the task's timeout): the outcome is the run's, not
    a matter of when the reconciler looked."""
    if task.heartbeat_at is None:
        return False
    return task.heartbeat_at >= task.deadline_at - timedelta(seconds=stale_seconds)


def _settle(task: GenerationTask, now, report: ReconcileReport, *, stale_seconds: int) -> None:
    age = f"{(now - task.heartbeat_at).total_seconds():.0f}s ago" if task.heartbeat_at else "never"
    vanished = f"its worker {task.worker or '?'} stopped answering (last heartbeat {age})"
    timed_out = task.deadline_at is not None and task.deadline_at <= now and _ran_to_its_deadline(task, stale_seconds)
    task.heartbeat_at = None
    if task.cancel_requested_at is not None:
        change_status(task, Status.CANCELLED)
        task.finished_at = now
        report.cancelled.append(task.pk)
        message = f"Cancelled; {vanished}."
    elif timed_out:
        change_status(task, Status.TIMED_OUT)
        task.finished_at = now
        task.error = f"Timed out: the task ran past its {task.timeout_seconds}s deadline and {vanished}."
        report.timed_out.append(task.pk)
        message = task.error
    else:
        decision = after_failed_run(task, backoff=False)  # its attempt ended with the worker: due again now
        requeue_or_give_up(task, decision, now=now, give_up_error=f"Gave up after {task.attempts} attempts: {vanished}.")
        if decision.give_up:
            report.failed.append(task.pk)
        else:
            task.phase = Phase.NONE
            task.error = f"Requeued: {vanished}."
            report.requeued.append(task.pk)
        message = task.error
    task.save()
    emit(task, EventKind.STATUS, message=message)


def _pending_wakeups() -> int:
    try:
        from django_q.brokers import get_broker

        return get_broker().queue_size() or 0
    except Exception:
        logger.warning("Could not read the broker's queue size", exc_info=True)
        return 0
