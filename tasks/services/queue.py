"""The queue: claiming the next task and waking workers.

django-q2 has no priorities, so its jobs are only wake-up calls: each job claims the best task
from `GenerationTask` itself, highest priority first and oldest first within a priority, with
`SELECT … FOR UPDATE SKIP LOCKED`. Any number of workers on any number of machines can claim
at once and no task is claimed twice; concurrency is bounded by the worker count.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

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
    """Enqueue `count` wake-up jobs once the current transaction commits."""
    if count <= 0:
        return

    def enqueue():
        from django_q.tasks import async_task

        kwargs = {"not_before": not_before.isoformat()} if not_before else {}
        for _ in range(count):
            try:
                async_task(RUN_NEXT_TASK, **kwargs, q_options={"task_name": "run_next_task"})
            except Exception:  # the reconciler wakes workers for due tasks that got no job
                logger.warning("Could not enqueue a wake-up job", exc_info=True)

    transaction.on_commit(enqueue)
