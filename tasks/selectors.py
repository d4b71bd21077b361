"""Reads about tasks that more than one caller needs (management commands, the admin, the API).

The queue overview, the phase timeline of a task page and which catalog models can run here.
Imports nothing outside `tasks`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Min, Q, Window
from django.db.models.functions import Lag, Now

from tasks.engine.stages import stages_for
from tasks.exceptions import PermanentError
from tasks.models import GenerationTask, ModelCatalogEntry, Phase, Status


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


def database_now() -> datetime:
    """The database server's time: the clock the engine stamps heartbeats and due times by."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def queue_overview(*, failures_shown: int = 20) -> QueueOverview:
    """What `manage.py queue_status` prints. Ages and "due" are measured on the database's clock,
    which stamped the times they compare: from a machine whose clock was two minutes ahead, a
    worker beating every few seconds was shown "heartbeat 2m ago", as if lost."""
    now = database_now()
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
        status__in=[Status.FAILED, Status.TIMED_OUT], finished_at__gte=Now() - timedelta(hours=24)
    ).count()


# --- The task page's phase timeline -----------------------------------------------------------

PHASE_STATE_LABELS = {"pending": "not started", "running": "running", "done": "done", "stopped": "stopped"}


def format_duration(seconds: float) -> str:
    """"42 s", "3 min 05 s", "1 h 02 min": the same text live-progress.js writes."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def phase_spans(events) -> dict[str, dict]:
    """How long each phase really ran, summed over attempts, from `(phase, status, at)` in order.

    A phase runs from the first running event in it until the next phase starts or the attempt
    ends (any event whose status is not "running": failed, cancelled, requeued, completed). The
    time between attempts, queued or waiting for a retry, belongs to no phase. Each span is
    {"seconds": closed time, "open_since": start of the open interval or None, "outcome": how the
    last interval ended ("" when the next phase took over)}.
    """
    spans: dict[str, dict] = {}
    current = ""

    def close(at, outcome: str) -> None:
        span = spans[current]
        span["seconds"] += (at - span["open_since"]).total_seconds()
        span.update(open_since=None, outcome=outcome)

    for phase, status, at in events:
        if status != Status.RUNNING:
            if current:
                close(at, status)
            current = ""
            continue
        if phase and phase != current:
            if current:
                close(at, "")
            spans.setdefault(phase, {"seconds": 0.0, "open_since": None, "outcome": ""})
            spans[phase]["open_since"] = at
            current = phase
    return spans


def state_changes(task: GenerationTask):
    """`(phase, status, at)` of the task's events, in order, leaving out each event whose phase and
    status are those of the event before it: `phase_spans` reads the same from them (a repeat
    changes nothing), and a task's progress events, most of its events, never reach Python. A
    task of 100,000 events took 0.7 s per timeline when each was read."""
    def previous(field: str) -> Window:
        return Window(Lag(field), order_by=F("sequence").asc())

    changed = Q(previous_phase__isnull=True) | ~Q(previous_phase=F("phase")) | ~Q(previous_status=F("status"))
    return (task.events.annotate(previous_phase=previous("phase"), previous_status=previous("status"))
            .filter(changed).order_by("sequence").values_list("phase", "status", "created_at"))


def _phases_of(task: GenerationTask) -> list[Phase]:
    """The phases the task's type runs, in pipeline order (an image task: its image); every phase
    when its pipeline cannot be loaded, so the page still shows what the events say."""
    try:
        shown = {stage.shown_phase for stage in stages_for(task.task_type)}
    except PermanentError:
        shown = set()
    every = [phase for phase in Phase if phase != Phase.NONE]
    return [phase for phase in every if phase.value in shown] or every


def phase_timeline(task: GenerationTask, *, now) -> list[dict]:
    """The pipeline's phases in order, each with its state and the time it ran (or has run so far).

    Besides the text (`duration` as of `now`), each step says what a page needs to keep a running
    phase's clock going without recomputing the rule: the closed `seconds` and `running_since`
    (None unless the phase is running). The task page renders this; live-progress.js fetches it
    again (`/api/tasks/{id}/timeline`) when the status or phase changes and only ticks the clock.
    """
    spans = phase_spans(state_changes(task))
    timeline = []
    for phase in _phases_of(task):
        span = spans.get(phase.value)
        if span is None:
            state, duration, closed, running_since = "pending", "", 0.0, None
        else:
            running_since = span["open_since"]
            ended_well = span["outcome"] in ("", Status.COMPLETED)
            state = "running" if running_since else "done" if ended_well else "stopped"
            closed = span["seconds"]
            duration = format_duration(closed + ((now - running_since).total_seconds() if running_since else 0))
        timeline.append({"phase": phase.value, "label": phase.label, "state": state,
                         "state_label": PHASE_STATE_LABELS[state], "duration": duration,
                         "seconds": closed, "running_since": running_since})
    return timeline


# --- The model catalog as a brief form offers it ----------------------------------------------

def model_unavailable_reason(entry: ModelCatalogEntry) -> str:
    """Why a catalog entry cannot run here now ("needs OPENAI_API_KEY"), or "" when it can.

    The web process's environment stands for the workers': both are started from the same one.
    """
    if not entry.enabled:
        return "disabled in the catalog"
    if entry.api_key_env and not os.environ.get(entry.api_key_env, "").strip():
        return f"needs {entry.api_key_env}"
    return ""


def usable_models() -> list[ModelCatalogEntry]:
    return [entry for entry in ModelCatalogEntry.objects.enabled() if not model_unavailable_reason(entry)]
