"""The engine's writes to a running task's row: one guarded UPDATE per transition.

Every change the engine makes while a task runs (a stage entered or done, progress, a log line,
a charge, the outcome) is allowed only while the task is still this worker's running task (the
reconciler may have given it to another worker or ended it) and, for most changes, not
cancelled. Instead of locking the row with a full `SELECT … FOR UPDATE`, reading it into a model
and saving it, the guard is the UPDATE's own WHERE clause: the UPDATE locks the row, changes it
and reserves the sequence numbers of the transition's events (`event_sequence + n`) in one
statement, and its RETURNING gives what the events record. No row means the guard failed; only
then is the row read to tell why (lost or cancelled). The events follow in one INSERT
(`tasks.events.append_events`), in the same transaction, and are broadcast after it commits.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from tasks.events import append_events, draft_event
from tasks.exceptions import LostOwnership, TaskCancelled
from tasks.models import GenerationTask, Status, TaskEvent

# Columns a transition may set or add to (a closed list: names are written into the SQL).
SETTABLE = frozenset({"phase", "progress", "status", "error", "finished_at", "heartbeat_at"})
ADDABLE = frozenset({"input_tokens", "output_tokens", "actual_cost"})


def guarded_update(task: GenerationTask, *, worker: str, events: list[dict], set_fields: dict | None = None,
                   add: dict | None = None, allow_cancelled: bool = False) -> list[TaskEvent]:
    """Apply `set_fields` and `add` to the row of `task` and append `events`, only if the task is
    still `worker`'s running task (and not cancelled, unless `allow_cancelled`).

    Must run inside a transaction. `events` are dicts of `tasks.events.draft_event` arguments
    (kind, message, data, and optionally status/phase/progress; the rest is taken from the row as
    the UPDATE left it). `task` (the caller's copy) gets the new values. Raises `LostOwnership`
    or `TaskCancelled` (nothing written) when the guard fails.
    """
    set_fields, add = dict(set_fields or {}), dict(add or {})
    if set(set_fields) - SETTABLE or set(add) - ADDABLE:
        raise ValueError(f"Not a column the engine writes: {sorted(set(set_fields) - SETTABLE | set(add) - ADDABLE)}")
    assignments = [f"{column} = %s" for column in set_fields] + [f"{column} = {column} + %s" for column in add]
    assignments += ["updated_at = %s", "event_sequence = event_sequence + %s"]
    now = timezone.now()
    params = [*set_fields.values(), *add.values(), now, len(events), task.pk, Status.RUNNING, worker]
    guard = "" if allow_cancelled else " AND cancel_requested_at IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE tasks_generationtask SET {', '.join(assignments)} "
            f"WHERE id = %s AND status = %s AND worker = %s{guard} "
            "RETURNING event_sequence, status, phase, progress, input_tokens, output_tokens, actual_cost",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        raise _why_not(task, worker)
    (last_sequence, task.status, task.phase, task.progress, task.input_tokens, task.output_tokens,
     task.actual_cost) = row
    for column, value in set_fields.items():
        setattr(task, column, value)
    task.updated_at = now
    drafts = [draft_event(task, **event) for event in events]
    return append_events(task, drafts, last_sequence=last_sequence) if drafts else []


def _why_not(task: GenerationTask, worker: str) -> Exception:
    current = GenerationTask.objects.filter(pk=task.pk).values("status", "worker", "cancel_requested_at").first()
    if current is None or current["status"] != Status.RUNNING or current["worker"] != worker:
        return LostOwnership("The task is no longer this worker's.")
    return TaskCancelled("The task was cancelled.")
