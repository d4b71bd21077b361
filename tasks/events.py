"""Progress events: the one way a task's changes are recorded and broadcast.

`emit()` appends a `TaskEvent` carrying the task's current status, phase and progress, with the
next per-task sequence number, and broadcasts it on the channel layer only after the surrounding
transaction commits, so a watcher never sees an event that was rolled back. A lost broadcast is
not lost information: the row is durable and clients catch up with `?after=N`. Events that
record a state change (status, approval, publication) also send `tasks.signals.task_state_changed`
after commit, the one place later webhooks and metrics subscribe to.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from django.db import connection, transaction

from tasks.models import EventKind, GenerationTask, TaskEvent
from tasks.signals import task_state_changed

logger = logging.getLogger(__name__)

ALL_TASKS_GROUP = "tasks.all"
STATE_CHANGE_KINDS = frozenset({EventKind.STATUS, EventKind.APPROVAL, EventKind.PUBLICATION})


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
        if kind in STATE_CHANGE_KINDS:
            transaction.on_commit(lambda: announce_state_change(payload))
    return event


def announce_state_change(payload: dict) -> None:
    """Send `task_state_changed`; a failing receiver is logged and never stops the others."""
    for receiver, result in task_state_changed.send_robust(sender=GenerationTask, event=payload):
        if isinstance(result, Exception):
            logger.error("Receiver %r of task_state_changed failed: %s", receiver, result, exc_info=result)


def broadcast(payload: dict) -> None:
    """Send an event to the task's watchers and to the all-tasks group; never raises."""
    try:
        message = {"type": "task.event", "event": payload}
        async_to_sync(_send)([task_group(payload["task"]), ALL_TASKS_GROUP], message)
    except Exception:  # the event row is durable; watchers catch up from the database
        logger.warning("Broadcast of event %s/%s failed", payload["task"], payload["sequence"], exc_info=True)


async def _send(groups: list[str], message: dict) -> None:
    """Send through a channel-layer instance of this call's own, closed before returning.

    `emit` runs in sync code. Under an ASGI server asgiref runs this coroutine on the server's
    event loop; in a django-q2 worker or a management command, on a new loop per call. A layer's
    connections belong to the loop that opened them, so the process-wide instance of
    `get_channel_layer()` would keep connections of loops that no longer exist (the PostgreSQL
    layer then stalls 30 s per send once they are recycled). An instance per call costs one
    connection per event and leaves nothing behind; the project's layers (Redis, PostgreSQL)
    share no state between instances but the server they talk to.
    """
    from channels.layers import channel_layers

    if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
        return
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        for group in groups:
            await layer.group_send(group, message)
    finally:
        await layer.close_pools()
