"""The engine in-process: stages, checkpoints, cancellation, deadlines, retries, outcomes.

Each test claims a task and runs it in the test's own thread, as a worker would; the watchdog
interrupts the main thread, so these also run in pytest's main thread.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from content.models import ContentVersion
from tasks.engine.runner import run_claimed_task
from tasks.models import GenerationTask, StageCheckpoint, TaskEvent
from tasks.services import claim_next_task, task_cancel
from tests.factories import make_task, submit_task
from tests.seed import ensure_seed_data

STAGE_NAMES = ["research", "draft", "qa", "image", "format"]


@pytest.fixture
def engine_settings(settings):
    settings.PRESSROOM_TASK_TYPES = {"blog_post": "tests.tasks.stages.TEST_STAGES"}
    settings.PRESSROOM_HEARTBEAT_SECONDS = 1
    settings.PRESSROOM_HEARTBEAT_STALE_SECONDS = 3
    settings.PRESSROOM_RETRY_BASE_SECONDS = 0
    return settings


@pytest.fixture
def live_db(transactional_db):
    """Committed rows, so the watchdog thread's own connection sees what the test wrote."""
    ensure_seed_data()


def run_one(worker: str = "test-worker") -> GenerationTask:
    task = claim_next_task(worker=worker)
    assert task is not None, "nothing to claim"
    run_claimed_task(task.pk, worker=worker)
    task.refresh_from_db()
    return task


def outputs(task) -> list[str]:
    return list(ContentVersion.objects.filter(task=task).order_by("number").values_list("phase", flat=True))


def test_a_task_runs_every_stage_once_and_completes(live_db, engine_settings):
    task = run_one_after(submit_task())
    assert task.status == "completed"
    assert (task.progress, task.phase, task.error) == (100, "", "")
    assert task.finished_at is not None and task.heartbeat_at is None
    assert outputs(task) == STAGE_NAMES
    assert list(StageCheckpoint.objects.filter(task=task).values_list("stage", flat=True)) == STAGE_NAMES
    kinds = list(TaskEvent.objects.filter(task=task).values_list("kind", flat=True))
    assert kinds[0] == "created" and kinds[-1] == "status"
    sequences = list(TaskEvent.objects.filter(task=task).values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    progress = list(TaskEvent.objects.filter(task=task).values_list("progress", flat=True))
    assert progress == sorted(progress) and progress[-1] == 100


def run_one_after(task) -> GenerationTask:
    done = run_one()
    assert done.pk == task.pk
    return done


def test_a_rerun_resumes_at_the_first_unfinished_stage(live_db, engine_settings):
    task = make_task(metadata={"transient_until_attempt": {"qa": 1}}, max_attempts=3)
    first = run_one()
    assert first.status == "queued" and first.attempts == 1
    assert "qa is temporarily unavailable" in first.error
    assert outputs(task) == ["research", "draft"]
    GenerationTask.objects.filter(pk=task.pk).update(available_at=timezone.now())
    second = run_one()
    assert second.status == "completed" and second.attempts == 2
    assert outputs(task) == STAGE_NAMES, "finished stages were not repeated"
    attempts = dict(StageCheckpoint.objects.filter(task=task).values_list("stage", "attempt"))
    assert attempts == {"research": 1, "draft": 1, "qa": 2, "image": 2, "format": 2}


def test_transient_failures_back_off_and_then_fail_after_max_attempts(live_db, engine_settings):
    engine_settings.PRESSROOM_RETRY_BASE_SECONDS = 60
    task = make_task(metadata={"transient_until_attempt": {"research": 99}}, max_attempts=2)
    first = run_one()
    assert first.status == "queued"
    assert (first.available_at - timezone.now()).total_seconds() > 20, "backoff pushes the next try back"
    assert claim_next_task(worker="eager") is None, "a backed-off task is not claimed early"
    GenerationTask.objects.filter(pk=task.pk).update(available_at=timezone.now())
    second = run_one()
    assert second.status == "failed"
    assert second.error.startswith("Gave up after 2 attempts. Last error: research is temporarily unavailable")


def test_retry_after_from_the_server_is_the_minimum_wait(live_db, engine_settings):
    task = make_task(metadata={"transient_until_attempt": {"research": 1}, "retry_after": {"research": 120}})
    first = run_one()
    assert first.pk == task.pk and first.status == "queued"
    assert (first.available_at - timezone.now()).total_seconds() > 100


def test_a_permanent_error_fails_at_once_with_its_message(live_db, engine_settings):
    task = make_task(metadata={"permanent": {"draft": "The API key was rejected (HTTP 401)."}}, max_attempts=3)
    done = run_one_after(task)
    assert done.status == "failed" and done.attempts == 1
    assert done.error == "The API key was rejected (HTTP 401). (stage draft)"
    assert outputs(task) == ["research"]


def test_an_unexpected_exception_fails_the_task_with_its_type(live_db, engine_settings):
    done = run_one_after(make_task(metadata={"crash": {"qa": "boom"}}))
    assert done.status == "failed"
    assert done.error == "Unexpected error (stage qa): RuntimeError: boom"


@pytest.mark.parametrize("how, status, error", [
    ("transient", "queued", "draft answered HTTP 400: badrequest (stage draft)"),
    ("retried", "queued", "draft answered HTTP 400: badrequest (stage draft)"),
    ("permanent", "failed", "draft answered HTTP 400: badrequest (stage draft)"),
    ("unexpected", "failed", "Unexpected error (stage draft): RuntimeError: draft answered HTTP 400: bad\x00request"),
])
def test_an_error_quoting_a_nul_is_recorded_without_it(live_db, engine_settings, how, status, error):
    """PostgreSQL stores no NUL: a provider's error body holding one once left the task running
    (the outcome's write failed) or failed a retryable call for good (its logged try did)."""
    task = make_task(metadata={"error_with_nul": {"draft": how}}, max_attempts=3)
    done = run_one_after(task)
    assert (done.status, done.error) == (status, error.replace("\x00", ""))
    assert outputs(task) == ["research"]
    messages = list(TaskEvent.objects.filter(task=task).values_list("message", flat=True))
    assert any("badrequest" in message for message in messages)
    assert not any("\x00" in message for message in messages)


def test_a_cancel_asked_for_before_a_transient_failure_ends_the_task_cancelled(live_db, engine_settings):
    """The editor cancels; before the watchdog's next beat can stop the stage, its call fails in a
    way worth retrying. The task ends cancelled rather than queued for a retry nobody wants."""
    task = make_task(metadata={"cancel_then_transient": {"draft": True}}, max_attempts=3)
    done = run_one_after(task)
    assert (done.status, done.attempts, done.error) == ("cancelled", 1, "")
    assert done.finished_at is not None
    assert outputs(task) == ["research"]
    last = TaskEvent.objects.filter(task=task).order_by("-sequence").first()
    assert (last.status, last.message) == ("cancelled", "Cancelled during stage draft.")
    assert claim_next_task(worker="eager") is None


def test_a_cancel_asked_for_before_a_transient_failure_on_the_last_attempt_is_not_a_failure(
        live_db, engine_settings):
    done = run_one_after(make_task(metadata={"cancel_then_transient": {"draft": True}}, max_attempts=1))
    assert (done.status, done.error) == ("cancelled", "")


def test_a_transient_call_is_retried_inside_the_stage(live_db, engine_settings):
    task = make_task(metadata={"call_failures": {"draft": 2}})
    done = run_one_after(task)
    assert done.status == "completed" and done.attempts == 1
    tries = [
        event.data for event in TaskEvent.objects.filter(task=task, kind="log").order_by("sequence")
        if event.data.get("call") == "draft call"
    ]
    assert [(t["attempt"], t["outcome"]) for t in tries] == [(1, "retry"), (2, "retry"), (3, "ok")]


def test_a_hanging_stage_times_out(live_db, engine_settings):
    task = make_task(metadata={"sleep": {"draft": 60}}, timeout_seconds=2)
    started = time.monotonic()
    done = run_one_after(task)
    assert time.monotonic() - started < 10
    assert done.status == "timed_out"
    assert done.error == "Timed out: the task ran past its 2s deadline (stage draft)."
    assert outputs(task) == ["research"]


# A stage that waited before it blocks (`ctx.sleep`, as between a call's tries) is interrupted alike:
# the wait once left the rest of the stage uninterruptible, so the blocked call ran to its end.
BLOCKED = {"plain": {}, "after a wait": {"sleep": 0.4}}


@pytest.mark.parametrize("before", BLOCKED)
def test_a_stage_blocked_in_a_plain_call_is_interrupted_at_its_deadline(live_db, engine_settings, before):
    metadata = {key: {"research": value} for key, value in {**BLOCKED[before], "block": 60}.items()}
    task = make_task(metadata=metadata, timeout_seconds=2)
    started = time.monotonic()
    done = run_one_after(task)
    assert time.monotonic() - started < 10
    assert done.status == "timed_out"
    assert outputs(task) == []


def _cancel_soon(task, delay: float) -> threading.Thread:
    def cancel():
        time.sleep(delay)
        try:
            task_cancel(task=GenerationTask.objects.get(pk=task.pk), by="tester")
        finally:
            connection.close()

    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_cancelling_in_a_stage_stops_it_and_writes_nothing_after(live_db, engine_settings, stage):
    task = make_task(metadata={"sleep": {stage: 30}})
    canceller = _cancel_soon(task, 1.5)
    started = time.monotonic()
    done = run_one_after(task)
    canceller.join()
    assert time.monotonic() - started < 8, "cancellation takes effect within a few seconds"
    assert done.status == "cancelled"
    assert done.finished_at is not None
    finished = STAGE_NAMES[: STAGE_NAMES.index(stage)]
    assert outputs(task) == finished
    last = TaskEvent.objects.filter(task=task).order_by("-sequence").first()
    assert last.status == "cancelled" and last.message == f"Cancelled during stage {stage}."


@pytest.mark.parametrize("before", BLOCKED)
def test_cancelling_during_a_blocking_call_interrupts_it(live_db, engine_settings, before):
    task = make_task(metadata={key: {"draft": value} for key, value in {**BLOCKED[before], "block": 30}.items()})
    canceller = _cancel_soon(task, 1.5)
    started = time.monotonic()
    done = run_one_after(task)
    canceller.join()
    assert time.monotonic() - started < 8
    assert done.status == "cancelled"
    assert outputs(task) == ["research"]


def test_cancelling_a_queued_task_ends_it_at_once(live_db, engine_settings):
    task = make_task()
    task_cancel(task=task, by="tester")
    task.refresh_from_db()
    assert task.status == "cancelled" and task.finished_at is not None
    assert claim_next_task(worker="w") is None


def test_a_worker_that_lost_its_task_writes_nothing(live_db, engine_settings):
    task = make_task(metadata={"sleep": {"draft": 30}})

    def steal():
        time.sleep(1.5)
        GenerationTask.objects.filter(pk=task.pk).update(worker="someone-else")
        connection.close()

    thief = threading.Thread(target=steal)
    thief.start()
    claimed = claim_next_task(worker="me")
    outcome = run_claimed_task(claimed.pk, worker="me")
    thief.join()
    assert outcome == "lost"
    task.refresh_from_db()
    assert task.status == "running" and task.worker == "someone-else"
    assert outputs(task) == ["research"]


def test_claims_follow_priority_then_age(live_db, engine_settings):
    low = make_task(priority=0)
    high_old = make_task(priority=5)
    high_new = make_task(priority=5)
    urgent = make_task(priority=10)
    order = [claim_next_task(worker=f"w{i}").pk for i in range(4)]
    assert order == [urgent.pk, high_old.pk, high_new.pk, low.pk]
    assert claim_next_task(worker="w5") is None


def test_an_unknown_pipeline_fails_the_task_permanently(live_db, engine_settings):
    engine_settings.PRESSROOM_TASK_TYPES = {}
    done = run_one_after(make_task())
    assert done.status == "failed"
    assert done.error == "No pipeline is configured for task type 'blog_post'."
