"""Reads about tasks that more than one caller needs (management commands, the admin, the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from tasks.models import GenerationTask, Status


@dataclass(frozen=True)
class RunningTask:
    id: str
    title: str
    phase: str
    progress: int
    worker: str
    heartbeat_age: float | None
    attempts: int
    cancel_requested: bool


@dataclass(frozen=True)
class RecentFailure:
    id: str
    title: str
    status: str
    finished_at: datetime
    error: str


@dataclass(frozen=True)
class QueueOverview:
    by_status: dict[str, int]
    queued_by_priority: dict[int, int]
    queued_due: int
    oldest_queued_age: float | None
    running: list[RunningTask]
    failures_24h: list[RecentFailure]


def queue_overview(*, failures_shown: int = 20) -> QueueOverview:
    now = timezone.now()
    by_status = {status: 0 for status in Status.values}
    by_status.update(dict(GenerationTask.objects.values_list("status").annotate(n=Count("id")).order_by()))
    queued = GenerationTask.objects.filter(status=Status.QUEUED)
    by_priority = dict(queued.values_list("priority").annotate(n=Count("id")).order_by("-priority"))
    oldest = queued.aggregate(oldest=Min("created_at"))["oldest"]
    running = [
        RunningTask(
            id=str(task.pk), title=str(task), phase=task.phase, progress=task.progress, worker=task.worker,
            heartbeat_age=(now - task.heartbeat_at).total_seconds() if task.heartbeat_at else None,
            attempts=task.attempts, cancel_requested=task.cancel_requested_at is not None,
        )
        for task in GenerationTask.objects.filter(status=Status.RUNNING).order_by("started_at")
    ]
    failed = GenerationTask.objects.filter(
        status__in=[Status.FAILED, Status.TIMED_OUT], finished_at__gte=now - timedelta(hours=24)
    ).order_by("-finished_at")
    failures = [
        RecentFailure(id=str(t.pk), title=str(t), status=t.status, finished_at=t.finished_at, error=t.error)
        for t in failed[:failures_shown]
    ]
    return QueueOverview(
        by_status=by_status,
        queued_by_priority=by_priority,
        queued_due=queued.filter(available_at__lte=now).count(),
        oldest_queued_age=(now - oldest).total_seconds() if oldest else None,
        running=running,
        failures_24h=failures,
    )


def failures_in_last_day() -> int:
    return GenerationTask.objects.filter(
        status__in=[Status.FAILED, Status.TIMED_OUT], finished_at__gte=timezone.now() - timedelta(hours=24)
    ).count()
