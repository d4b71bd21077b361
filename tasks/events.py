"""Progress events: the one way a task's changes are recorded and broadcast.

`emit()` appends a `TaskEvent` carrying the task's current status, phase and progress, with the
next per-task sequence number, and broadcasts it on the channel layer only after the surrounding
transaction commits, so a watcher never sees an event that was rolled back. A lost broadcast is
not lost information: the row is durable and clients catch up with `?after=N`.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from django.db import connection, transaction

from tasks.models import EventKind, GenerationTask, TaskEvent

logger = logging.getLogger(__name__)

ALL_TASKS_GROUP = "tasks.all"


def task_group(task_id) -> str:
    """Channel-layer group of one task's watchers."""
    return f"task.{task_id}"


def _next_sequence(task_id) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_generationtask SET event_sequence = event_sequence + 1 WHERE id = %s "
            "RETURNING event_sequence",
            [task_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise GenerationTask.DoesNotExist(f"No task {task_id}")
    return row[0]


def event_payload(event: TaskEvent, *, owner_id=None) -> dict:
    return {
        "task": str(event.task_id),
        "sequence": event.sequence,
        "kind": event.kind,
        "status": event.status,
        "phase": event.phase,
        "progress": event.progress,
        "message": event.message,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
        "owner": owner_id,
    }


def emit(task: GenerationTask, kind: str, *, message: str = "", data: dict | None = None) -> TaskEvent:
    """Record an event of `task` as it is now (status, phase, progress) and broadcast it on commit."""
    if kind not in EventKind.values:
        raise ValueError(f"Unknown event kind {kind!r}")
    with transaction.atomic():
        event = TaskEvent.objects.create(
            task_id=task.pk,
            sequence=_next_sequence(task.pk),
            kind=kind,
            status=task.status,
            phase=task.phase,
            progress=task.progress,
            message=message[:2000],
            data=data or {},
        )
        task.event_sequence = event.sequence
        payload = event_payload(event, owner_id=task.created_by_id)
        transaction.on_commit(lambda: broadcast(payload))
    return event


def broadcast(payload: dict) -> None:
    """Send an event to the task's watchers and to the all-tasks group; never raises."""
    from channels.layers import get_channel_layer

    try:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "task.event", "event": payload}
        async_to_sync(layer.group_send)(task_group(payload["task"]), message)
        async_to_sync(layer.group_send)(ALL_TASKS_GROUP, message)
    except Exception:  # the event row is durable; watchers catch up from the database
        logger.warning("Broadcast of event %s/%s failed", payload["task"], payload["sequence"], exc_info=True)
