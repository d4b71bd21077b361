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

from django.db import connection, transaction
from django.utils import timezone

from config.rows import insert_rows
from tasks.broadcaster import broadcaster
from tasks.control_characters import storable_text
from tasks.models import EventKind, GenerationTask, TaskEvent
from tasks.signals import task_state_changed

logger = logging.getLogger(__name__)

ALL_TASKS_GROUP = "tasks.all"
STATE_CHANGE_KINDS = frozenset({EventKind.STATUS, EventKind.APPROVAL, EventKind.PUBLICATION})
KNOWN_KINDS = frozenset(EventKind.values)  # `EventKind.values` builds a new list on every call


def task_group(task_id) -> str:
    """Channel-layer group of one task's watchers."""
    return f"task.{task_id}"


def reserve_sequences(task_id, count: int = 1) -> int:
    """Take the next `count` sequence numbers of a task; returns the last one.

    The UPDATE also locks the task row until the transaction ends, so no other writer can take
    numbers in between: events of one transaction get consecutive numbers, and numbers are dense
    across transactions.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_generationtask SET event_sequence = event_sequence + %s WHERE id = %s "
            "RETURNING event_sequence",
            [count, task_id],
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
    with transaction.atomic(savepoint=False):
        [event] = append_events(
            task, [draft_event(task, kind, message=message, data=data)], last_sequence=reserve_sequences(task.pk)
        )
    return event


def draft_event(task: GenerationTask, kind: str, *, message: str = "", data: dict | None = None,
                **state) -> TaskEvent:
    """An unsaved event of `task`; `state` (status, phase, progress) overrides the task's own.
    The message may quote anything an exception said, so what PostgreSQL cannot store is dropped."""
    if kind not in KNOWN_KINDS:
        raise ValueError(f"Unknown event kind {kind!r}")
    return TaskEvent(
        task_id=task.pk, kind=kind, message=storable_text(message[:2000]), data=data or {},
        status=state.get("status", task.status), phase=state.get("phase", task.phase),
        progress=state.get("progress", task.progress),
    )


def append_events(task: GenerationTask, events: list[TaskEvent], *, last_sequence: int) -> list[TaskEvent]:
    """Insert `events` (drafts, in order) with the sequence numbers up to `last_sequence` that the
    caller reserved in this transaction (`reserve_sequences`, or its own UPDATE of the task row
    that added `len(events)` to `event_sequence`), in one INSERT; broadcast them after commit, in
    order, and announce the state changes among them."""
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("Events are appended inside the transaction that reserved them.")
    first = last_sequence - len(events) + 1
    now = timezone.now()
    for offset, event in enumerate(events):
        event.sequence = first + offset
        event.created_at = now
    insert_rows(events)  # bulk_create's INSERT, written once per number of events
    task.event_sequence = last_sequence
    broadcast_after_commit(task, events)
    return events


def broadcast_after_commit(task: GenerationTask, events: list[TaskEvent]) -> None:
    """Once the transaction that wrote `events` commits (at once outside a transaction: the
    statement has committed), broadcast them in order and announce the state changes among them."""
    payloads = [event_payload(event, owner_id=task.created_by_id) for event in events]
    transaction.on_commit(lambda: _after_commit(payloads))


def _after_commit(payloads: list[dict]) -> None:
    broadcast(*payloads)
    for payload in payloads:
        if payload["kind"] in STATE_CHANGE_KINDS:
            announce_state_change(payload)


def announce_state_change(payload: dict) -> None:
    """Send `task_state_changed`; a failing receiver is logged and never stops the others."""
    for receiver, result in task_state_changed.send_robust(sender=GenerationTask, event=payload):
        if isinstance(result, Exception):
            logger.error("Receiver %r of task_state_changed failed: %s", receiver, result, exc_info=result)


def broadcast(*payloads: dict) -> None:
    """Send events to their tasks' watchers and to the all-tasks group; never raises, never waits.

    The process's broadcaster (`tasks.broadcaster`) sends them from its own event loop through
    one long-lived layer instance, in the order events were committed; the events of one
    transition are handed over together.
    """
    try:
        broadcaster().send_many([
            ([task_group(payload["task"]), ALL_TASKS_GROUP], {"type": "task.event", "event": payload})
            for payload in payloads
        ])
    except Exception:  # the event rows are durable; watchers catch up from the database
        logger.warning("Broadcast of events %s failed", [(p["task"], p["sequence"]) for p in payloads],
                       exc_info=True)
