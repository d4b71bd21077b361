"""The engine's writes to a running task's row: one guarded UPDATE per transition.

Every change the engine makes while a task runs (a stage entered or done, progress, a log line,
a charge, the outcome) is allowed only while the task is still this worker's running task (the
reconciler may have given it to another worker or ended it) and, for most changes, not
cancelled. Instead of locking the row with a full `SELECT … FOR UPDATE`, reading it into a model
and saving it, the guard is the UPDATE's own WHERE clause: the UPDATE locks the row, changes it
and reserves the sequence numbers of the transition's events (`event_sequence + n`) in one
statement, and its RETURNING gives what the events record; the events (and a stage's checkpoint) are
INSERTs in the same statement (a `WITH` query). No row means the guard failed and nothing was
written; only then is the row read to tell why (lost or cancelled). A `finished_at` of
`DATABASE_NOW` is the statement's own time on the database server's clock, the clock the claim
took `started_at` from. Outside a transaction the
statement commits by itself, so a transition with nothing else to store is one round trip to
the database. The events are broadcast after the commit.
"""

from __future__ import annotations

import json

from django.db import connection
from django.utils import timezone

from tasks.events import broadcast_after_commit, draft_event
from tasks.exceptions import LostOwnership, TaskCancelled
from tasks.models import GenerationTask, Status, TaskEvent

# Columns a transition may set or add to (a closed list: names are written into the SQL).
SETTABLE = frozenset({"phase", "progress", "status", "error", "finished_at", "heartbeat_at"})
ADDABLE = frozenset({"input_tokens", "output_tokens", "actual_cost"})


class _DatabaseNow:
    """A value of `set_fields`: the time of the statement that writes it, on the database's clock."""

    def __repr__(self) -> str:
        return "DATABASE_NOW"


DATABASE_NOW = _DatabaseNow()


def guarded_update(task: GenerationTask, *, worker: str, events: list[dict], set_fields: dict | None = None,
                   add: dict | None = None, allow_cancelled: bool = False,
                   checkpoint: dict | None = None) -> list[TaskEvent]:
    """Apply `set_fields` and `add` to the row of `task`, append `events` and, with `checkpoint`
    (stage, attempt, revision, data), store a stage's checkpoint, only if the task is still
    `worker`'s running task (and not cancelled, unless `allow_cancelled`).

    One statement: the UPDATE and the INSERTs are parts of one `WITH` query, so the INSERTs see
    the row the UPDATE left and write nothing when its guard matched no row. Outside a
    transaction that statement commits by itself (one round trip); inside one, it is part of it.
    `events` are dicts of `tasks.events.draft_event` arguments (kind, message, data, and
    optionally status/phase/progress; the rest is the row's after the UPDATE). `task` (the
    caller's copy) gets the new values. Raises `LostOwnership` or `TaskCancelled` (nothing
    written) when the guard fails. The events are broadcast once committed.
    """
    set_fields, add = dict(set_fields or {}), dict(add or {})
    if set(set_fields) - SETTABLE or set(add) - ADDABLE:
        raise ValueError(f"Not a column the engine writes: {sorted(set(set_fields) - SETTABLE | set(add) - ADDABLE)}")
    drafts = [draft_event(task, **event) for event in events]  # validates the kinds before writing
    overrides = [{key for key in ("status", "phase", "progress") if key in event} for event in events]
    assignments = [f"{column} = statement_timestamp()" if value is DATABASE_NOW else f"{column} = %s"
                   for column, value in set_fields.items()]
    assignments += [f"{column} = {column} + %s" for column in add]
    assignments += ["updated_at = %s", "event_sequence = event_sequence + %s"]
    now = timezone.now()
    params = [*(value for value in set_fields.values() if value is not DATABASE_NOW), *add.values(),
              now, len(drafts), task.pk, Status.RUNNING, worker]
    guard = "" if allow_cancelled else " AND cancel_requested_at IS NULL"
    sql = [
        f"WITH advanced AS (UPDATE tasks_generationtask SET {', '.join(assignments)} "
        f"WHERE id = %s AND status = %s AND worker = %s{guard} "
        "RETURNING id, event_sequence, status, phase, progress, input_tokens, output_tokens, actual_cost, "
        "statement_timestamp() AS database_now)"
    ]
    if drafts:
        sql.append(
            ", appended AS (INSERT INTO tasks_taskevent "
            "(task_id, sequence, kind, status, phase, progress, message, data, created_at) "
            "SELECT advanced.id, advanced.event_sequence - %s + e.n, e.kind, COALESCE(e.status, advanced.status), "
            "COALESCE(e.phase, advanced.phase), COALESCE(e.progress, advanced.progress), e.message, e.data, %s "
            "FROM advanced, jsonb_to_recordset(%s::jsonb) "
            "AS e(n int, kind text, status text, phase text, progress int, message text, data jsonb) RETURNING id)"
        )
        # The events travel as one JSON array: one parameter to encode, where six arrays of
        # their fields cost psycopg a Python dump per element.
        params += [len(drafts), now, json.dumps([
            {"n": n, "kind": d.kind, "message": d.message, "data": d.data,
             **{field: getattr(d, field) for field in given}}
            for n, (d, given) in enumerate(zip(drafts, overrides), start=1)
        ])]
    if checkpoint is not None:
        sql.append(
            ", checkpointed AS (INSERT INTO tasks_stagecheckpoint "
            "(task_id, stage, attempt, revision, data, completed_at) "
            "SELECT advanced.id, %s, %s, %s, %s::jsonb, %s FROM advanced RETURNING id)"
        )
        params += [checkpoint["stage"], checkpoint["attempt"], checkpoint["revision"],
                   json.dumps(checkpoint.get("data") or {}), now]
    sql.append(" SELECT event_sequence, status, phase, progress, input_tokens, output_tokens, actual_cost, "
               "database_now FROM advanced")
    with connection.cursor() as cursor:
        cursor.execute("".join(sql), params)
        row = cursor.fetchone()
    if row is None:
        raise _why_not(task, worker)
    (last_sequence, task.status, task.phase, task.progress, task.input_tokens, task.output_tokens,
     task.actual_cost, database_now) = row
    for column, value in set_fields.items():
        setattr(task, column, database_now if value is DATABASE_NOW else value)
    task.updated_at = now
    task.event_sequence = last_sequence
    first = last_sequence - len(drafts) + 1
    for offset, (event, given) in enumerate(zip(drafts, overrides)):
        event.sequence, event.created_at = first + offset, now
        for field in {"status", "phase", "progress"} - given:
            setattr(event, field, getattr(task, field))
    broadcast_after_commit(task, drafts)
    return drafts


def _why_not(task: GenerationTask, worker: str) -> Exception:
    current = GenerationTask.objects.filter(pk=task.pk).values("status", "worker", "cancel_requested_at").first()
    if current is None or current["status"] != Status.RUNNING or current["worker"] != worker:
        return LostOwnership("The task is no longer this worker's.")
    return TaskCancelled("The task was cancelled.")
