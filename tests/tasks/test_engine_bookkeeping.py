"""What the engine's bookkeeping costs per task, in round trips, and what it records.

The engine benchmark's pipeline (`bench.stages.BENCH_STAGES`: five stages that do nothing) runs
in-process, so every statement counted is the engine's own: the claim, entering the first stage,
and per stage one write that stores its checkpoint, reports its progress and enters the next
stage (after the last, records the outcome). Every statement is a round trip to the database
(BEGIN and COMMIT included), so these upper bounds are a promise about round trips, not time.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.engine.runner import run_claimed_task
from tasks.models import GenerationTask, StageCheckpoint, TaskEvent
from tasks.services import claim_next_task
from tests.factories import submit_task
from tests.seed import ensure_seed_data

STAGES = ["research", "draft", "qa", "image", "format"]
# Before issue 13: 98 statements in 13 transactions for claim + run (each stage entered and
# completed in a transaction of its own, each with a full-row SELECT … FOR UPDATE, each event a
# SAVEPOINT, an UPDATE of the sequence, an INSERT and a RELEASE).
# Then (the first lean engine): the claim in a transaction of five statements (BEGIN, SELECT …
# FOR UPDATE SKIP LOCKED, UPDATE, INSERT, COMMIT), the checkpoints read, and six single-statement
# writes: 12.
# Now: the claim is one statement that commits by itself, a first attempt reads no checkpoints,
# and the six writes: 7, plus the test's own `refresh_from_db`.
# The receivers of the `completed` state change run after its commit, in the same worker: webhooks
# look up subscriptions to task.completed and notifications look up reviewers to tell (none here,
# so the task is not read): 2 SELECTs.
MAX_STATEMENTS_PER_TASK = 8 + 2
MAX_TRANSACTIONS_PER_TASK = 7


@pytest.fixture
def bench_pipeline(transactional_db, settings):
    ensure_seed_data()
    settings.PRESSROOM_TASK_TYPES = {"blog_post": "bench.stages.BENCH_STAGES"}
    return settings


def run_one(worker: str = "worker-1") -> GenerationTask:
    task = claim_next_task(worker=worker)
    run_claimed_task(task.pk, worker=worker, claimed=task)
    task.refresh_from_db()
    return task


def test_a_five_stage_task_takes_a_bounded_number_of_statements_and_transactions(bench_pipeline):
    submit_task()
    with CaptureQueriesContext(connection) as captured:
        task = run_one()
    assert task.status == "completed"
    statements = [query["sql"] for query in captured.captured_queries]
    savepoints = [sql for sql in statements if sql.upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= MAX_STATEMENTS_PER_TASK, "\n".join(statements)
    assert committed_writes(statements) <= MAX_TRANSACTIONS_PER_TASK, "\n".join(statements)
    assert savepoints == [], "an event is one INSERT in its transaction, with no savepoint around it"


def committed_writes(statements: list[str]) -> int:
    """Transactions that wrote: each COMMIT of a BEGIN … COMMIT block that wrote, and each
    writing statement outside one (it commits by itself)."""
    count, in_transaction, wrote = 0, False, False
    for sql in statements:
        verb = sql.split(None, 1)[0].upper()
        if verb == "BEGIN":
            in_transaction, wrote = True, False
        elif verb == "COMMIT":
            count += wrote
            in_transaction = False
        elif verb in ("INSERT", "UPDATE", "DELETE", "WITH"):
            wrote = True
            count += not in_transaction
    return count


def test_the_events_a_task_records_are_the_same_kinds_messages_and_states_in_order(bench_pipeline):
    task = run_one_after_submit()
    events = list(TaskEvent.objects.filter(task=task).order_by("sequence")
                  .values_list("sequence", "kind", "status", "phase", "progress", "message"))
    expected = [("created", "queued", "", 0, "Task queued."),
                ("status", "running", "", 0, "Attempt 1 of 3 started.")]
    for number, stage in enumerate(STAGES, start=1):
        previous = 20 * (number - 1)
        expected.append(("phase", "running", stage, previous, f"Stage {stage} started."))
        expected.append(("progress", "running", stage, min(99, 20 * number), f"Stage {stage} done."))
    expected.append(("status", "completed", "", 100, "Completed."))
    assert [event[1:] for event in events] == expected
    assert [event[0] for event in events] == list(range(1, len(expected) + 1))
    assert task.event_sequence == len(expected)
    assert list(StageCheckpoint.objects.filter(task=task).values_list("stage", flat=True)) == STAGES


def run_one_after_submit() -> GenerationTask:
    submitted = submit_task()
    done = run_one()
    assert done.pk == submitted.pk
    return done


def test_a_cancelled_task_is_not_advanced_by_the_stage_that_was_running(bench_pipeline, monkeypatch):
    """The guard of the transaction that completes a stage: a cancellation that arrives while
    the stage runs keeps its checkpoint and the next stage from being written."""
    from bench import stages as bench_stages
    from tasks.engine.stages import Stage

    def cancel_during_run(ctx):
        GenerationTask.objects.filter(pk=ctx.task.pk).update(cancel_requested_at=ctx.task.started_at)

    monkeypatch.setattr(bench_stages, "BENCH_STAGES", [Stage("research", run=lambda ctx: None),
                                                       Stage("draft", run=cancel_during_run),
                                                       Stage("qa", run=lambda ctx: None)])
    task = run_one_after_submit()
    assert task.status == "cancelled"
    assert list(StageCheckpoint.objects.filter(task=task).values_list("stage", flat=True)) == ["research"]
    last = TaskEvent.objects.filter(task=task).order_by("-sequence").first()
    assert (last.kind, last.status, last.message) == ("status", "cancelled", "Cancelled during stage draft.")
    assert not TaskEvent.objects.filter(task=task, message="Stage qa started.").exists()


def test_heartbeats_of_successive_tasks_share_one_database_connection(transactional_db, settings):
    """A watchdog thread lives for one task; the connection it beats through is the process's,
    kept between tasks instead of opened and closed for each."""
    from tasks.engine.watchdog import heartbeat_connection

    ensure_seed_data()
    settings.PRESSROOM_TASK_TYPES = {"blog_post": "tests.tasks.stages.TEST_STAGES"}
    settings.PRESSROOM_HEARTBEAT_SECONDS = 0.2
    backends = []
    for _ in range(2):
        submitted = submit_task(metadata={"sleep": {"research": 0.6}})
        task = run_one()
        assert task.pk == submitted.pk and task.status == "completed"
        db = heartbeat_connection()
        assert db.connection is not None, "the task's heartbeats went through the process's connection"
        backends.append(db.connection.info.backend_pid)
    assert backends[0] == backends[1], "the second task beat on the connection the first one opened"


def test_a_worker_process_keeps_its_database_connection_between_jobs(transactional_db, monkeypatch, settings):
    """django-q2 calls `close_old_connections()` around every job; a worker (set up by
    `on_worker_spawn`) keeps its connection for PRESSROOM_WORKER_CONN_MAX_AGE instead of opening
    a new one, and a new PostgreSQL server process, for every task."""
    from django.db import close_old_connections

    from tasks.jobs import on_worker_spawn

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)  # the web processes' default
    settings.PRESSROOM_WORKER_CONN_MAX_AGE = 60
    on_worker_spawn(proc_name="Process-1:1")
    connection.ensure_connection()
    first = connection.connection.info.backend_pid
    close_old_connections()  # between two jobs
    connection.ensure_connection()
    assert connection.connection.info.backend_pid == first


def test_a_claim_is_one_statement_that_records_the_run_and_its_started_event(bench_pipeline):
    """The claim picks, updates and records its event in one statement that commits by itself;
    the row, the returned task, the stored event and what is announced after commit agree."""
    from datetime import timedelta

    from tasks.signals import task_state_changed

    submitted = submit_task()
    announced = []

    def receiver(sender, event, **kwargs):
        announced.append(event)

    task_state_changed.connect(receiver)
    try:
        with CaptureQueriesContext(connection) as captured:
            task = claim_next_task(worker="worker-7")
    finally:
        task_state_changed.disconnect(receiver)
    assert len(captured.captured_queries) == 1 and committed_writes(
        [query["sql"] for query in captured.captured_queries]) == 1
    assert task.pk == submitted.pk and isinstance(task, GenerationTask)
    assert not hasattr(task, "started_message"), "the event's columns are not left on the task"
    stored = GenerationTask.objects.get(pk=task.pk)
    for field in ("status", "phase", "attempts", "worker", "heartbeat_at", "started_at", "deadline_at", "error",
                  "event_sequence", "title", "created_by_id"):
        assert getattr(task, field) == getattr(stored, field), field
    assert (stored.status, stored.attempts, stored.worker, stored.event_sequence) == ("running", 1, "worker-7", 2)
    assert stored.deadline_at == stored.heartbeat_at + timedelta(seconds=stored.timeout_seconds)
    assert stored.started_at == stored.heartbeat_at
    event = TaskEvent.objects.get(task=task, sequence=2)
    assert (event.kind, event.status, event.message, event.data) == (
        "status", "running", "Attempt 1 of 3 started.", {"attempt": 1, "worker": "worker-7"})
    assert [(e["sequence"], e["message"], e["data"], e["owner"]) for e in announced] == [
        (2, "Attempt 1 of 3 started.", {"attempt": 1, "worker": "worker-7"}, stored.created_by_id)]
    assert announced[0]["created_at"] == event.created_at.isoformat()


def test_a_second_claim_keeps_the_first_start_and_counts_the_attempt(bench_pipeline):
    from django.utils import timezone

    submitted = submit_task()
    first = claim_next_task(worker="worker-1")
    GenerationTask.objects.filter(pk=submitted.pk).update(status="queued", worker="", available_at=timezone.now())
    second = claim_next_task(worker="worker-2")
    assert second.pk == submitted.pk and second.attempts == 2 and second.worker == "worker-2"
    assert second.started_at == first.started_at, "started_at is the first run's"
    assert TaskEvent.objects.get(task=second, sequence=second.event_sequence).message == "Attempt 2 of 3 started."


def test_a_claim_skips_a_task_another_worker_holds_locked(bench_pipeline):
    """`FOR UPDATE SKIP LOCKED` inside the claim's statement: a row locked by another claim in
    flight is passed over, never claimed twice."""
    import threading

    from django.db import connections, transaction

    first, second = submit_task(), submit_task()
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                GenerationTask.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        claimed = claim_next_task(worker="worker-2")
    finally:
        release.set()
        holder.join(10)
    assert claimed.pk == second.pk
    assert GenerationTask.objects.get(pk=first.pk).status == "queued"
    assert claim_next_task(worker="worker-3").pk == first.pk
    assert claim_next_task(worker="worker-4") is None


def test_the_claim_survives_a_column_added_after_its_statement_was_prepared(bench_pipeline):
    """With prepared statements a claim returning `t.*` failed on every connection that had
    prepared it once a migration added a column ("cached plan must not change result type"):
    it names its columns."""
    from django.db import connections

    from tasks.models import Status

    for _ in range(7):  # prepared from the fifth run on
        submitted = submit_task()
        assert claim_next_task(worker="worker-1").pk == submitted.pk
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("ALTER TABLE tasks_generationtask ADD COLUMN added_by_a_later_release integer")
        submitted = submit_task()
        claimed = claim_next_task(worker="worker-1")
        assert claimed.pk == submitted.pk and claimed.status == Status.RUNNING
    finally:
        with other.cursor() as cursor:
            cursor.execute("ALTER TABLE tasks_generationtask DROP COLUMN IF EXISTS added_by_a_later_release")
        other.close()


def test_the_claim_uses_the_queue_index_even_as_a_generic_plan(bench_pipeline):
    """A prepared statement run often gets one plan for any values (PostgreSQL's generic plan).
    The claim's statuses are written in, so that plan still reads the partial index of queued
    tasks instead of every task with that status, sorted."""
    from django.db import connections

    from tasks.services.queue import claim_sql

    placeholders = {"%(now)s": "$1::timestamptz", "%(worker)s": "$2::text", "%(phase)s": "$3::text",
                    "%(kind)s": "$4::text", "%%": "%"}
    sql = claim_sql()
    for placeholder, parameter in placeholders.items():
        sql = sql.replace(placeholder, parameter)
    conn = connections.create_connection("default")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute(f"PREPARE generic_claim AS {sql}")
            cursor.execute("EXPLAIN EXECUTE generic_claim(now(), 'w', '', 'status')")
            plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        conn.close()

    assert "task_queue_order" in plan, plan


def test_a_transition_stores_its_events_text_data_and_states_exactly(bench_pipeline):
    """The events of one guarded UPDATE travel to PostgreSQL as one JSON array: messages and data
    with quotes, backslashes, JSON-looking text and any script come back as they went, and each
    event takes the state it names or else the row's state after the UPDATE."""
    from tasks.engine.bookkeeping import guarded_update

    submit_task()
    task = claim_next_task(worker="worker-1")
    messages = ['He said "stop" \\ then {"kind": "forged"}', "Ünïcödé – 日本語 – 🙂", "", "'); DROP TABLE x; --"]
    data = [{"nested": {"list": [1, 2.5, None, True], "text": 'a"b\\c'}}, {}, {"n": 10**15}, {"s": "\t\n"}]
    drafts = guarded_update(task, worker="worker-1", set_fields={"phase": "draft", "progress": 40}, events=[
        {"kind": "log", "message": messages[0], "data": data[0]},
        {"kind": "progress", "message": messages[1], "data": data[1], "progress": 35},
        {"kind": "phase", "message": messages[2], "data": data[2], "phase": "research", "status": "running"},
        {"kind": "log", "message": messages[3], "data": data[3]},
    ])

    stored = list(TaskEvent.objects.filter(task=task, sequence__gt=2).order_by("sequence")
                  .values_list("sequence", "kind", "status", "phase", "progress", "message", "data"))
    assert stored == [
        (3, "log", "running", "draft", 40, messages[0], data[0]),
        (4, "progress", "running", "draft", 35, messages[1], data[1]),
        (5, "phase", "running", "research", 40, messages[2], data[2]),
        (6, "log", "running", "draft", 40, messages[3], data[3]),
    ]
    assert [(d.sequence, d.kind, d.status, d.phase, d.progress, d.message, d.data) for d in drafts] == stored
    assert GenerationTask.objects.get(pk=task.pk).event_sequence == 6


def test_the_claimed_task_has_every_field_as_the_database_reads_it(bench_pipeline):
    """The claim builds its task from its own row: each field as a queryset reads it, the JSON
    metadata decoded, and its state as saved (not a stale or half-converted copy)."""
    submitted = submit_task(metadata={"campaign": "spring", "tags": ["a", "b"], "nested": {"n": 1}})
    claimed = claim_next_task(worker="worker-9")
    stored = GenerationTask.objects.get(pk=submitted.pk)
    for field in GenerationTask._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(stored, field.attname), field.name
    assert claimed.metadata == {"campaign": "spring", "tags": ["a", "b"], "nested": {"n": 1}}
    assert claimed._state.db == "default" and not claimed._state.adding


def test_a_heartbeat_the_database_cannot_take_logs_one_line_without_a_traceback(transactional_db, request, caplog):
    """A database restart under running tasks: each beat logged its whole traceback (4 kB), one
    per running task every PRESSROOM_HEARTBEAT_SECONDS, for as long as the database was away."""
    from tasks.engine.watchdog import Watchdog, heartbeat_connection

    ensure_seed_data()
    watchdog = Watchdog(submit_task(), worker="worker-of-the-test")
    request.getfixturevalue("stopped_database")
    heartbeat_connection().close()
    with caplog.at_level(logging.WARNING, logger="tasks.engine.watchdog"):
        watchdog._beat()

    [line] = [record for record in caplog.records if record.name == "tasks.engine.watchdog"]
    assert not line.exc_info
    assert "Heartbeat failed" in line.getMessage() and "OperationalError: " in line.getMessage()
    assert watchdog.reason is None, "a beat the database missed stops nothing: the next one tries again"
