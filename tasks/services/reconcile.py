"""The reconciler: finds tasks whose worker vanished or overran, and wakes workers for due tasks.

Runs as a django-q2 schedule (every minute), when a cluster's worker process starts, and before
each wake-up job claims work, so a killed worker, a killed cluster, a restarted database or a
restarted machine loses nothing: a running task with a stale heartbeat is requeued (or ended, when
it was cancelled, ran out of time or used all its attempts), and queued tasks with no wake-up job
waiting get one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tasks.events import emit
from tasks.models import EventKind, GenerationTask, Phase, Status
from tasks.services.queue import wake_workers
from tasks.services.requeue import after_failed_run, requeue_or_give_up
from tasks.transitions import change_status

logger = logging.getLogger(__name__)

MAX_WAKEUPS_PER_PASS = 100


@dataclass
class ReconcileReport:
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
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.PRESSROOM_HEARTBEAT_STALE_SECONDS)
    # A run past its deadline by more than the staleness window is hung even if its watchdog
    # thread still beats (a main thread stuck in C code); it is ended here.
    overdue_before = now - timedelta(seconds=settings.PRESSROOM_HEARTBEAT_STALE_SECONDS)
    stale = Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True) | Q(deadline_at__lt=overdue_before)
    # Usually there is nothing to recover: look first without a transaction or locks (one
    # statement), and lock only when there is.
    if GenerationTask.objects.filter(stale, status=Status.RUNNING).exists():
        _settle_vanished(now, stale, report)
    if pending_wakeups is not None and pending_wakeups >= MAX_WAKEUPS_PER_PASS:
        due = 0  # as many wake-ups wait as a pass would add: no need to count the due tasks
    else:
        due = GenerationTask.objects.filter(status=Status.QUEUED, available_at__lte=now).count()
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


def _settle_vanished(now, stale: Q, report: ReconcileReport) -> None:
    with transaction.atomic():
        vanished = list(GenerationTask.objects.select_for_update(skip_locked=True).filter(stale, status=Status.RUNNING))
        for task in vanished:
            _settle(task, now, report)


def _settle(task: GenerationTask, now, report: ReconcileReport) -> None:
    age = f"{(now - task.heartbeat_at).total_seconds():.0f}s ago" if task.heartbeat_at else "never"
    vanished = f"its worker {task.worker or '?'} stopped answering (last heartbeat {age})"
    task.heartbeat_at = None
    if task.cancel_requested_at is not None:
        change_status(task, Status.CANCELLED)
        task.finished_at = now
        report.cancelled.append(task.pk)
        message = f"Cancelled; {vanished}."
    elif task.deadline_at is not None and task.deadline_at <= now:
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
