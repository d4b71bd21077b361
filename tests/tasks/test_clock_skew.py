"""The engine's leases hold whatever the workers' clocks say: the database's clock decides them.

A running task belongs to one worker while its heartbeat is fresh and its deadline not past. The
claim and the watchdog's beats stamp the heartbeat, and the claim the deadline, from the database
server's clock, and the reconciler judges them against that same clock, inside its statement:
a worker or reconciler whose own clock is two minutes off (`tests.clocks.clock_off_by`) neither
takes a live task from its worker (which would run it twice) nor times it out early, and still
recovers a dead worker's task. A worker measures its own run's deadline on its monotonic clock,
from the time the claim gave it.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone as dt_timezone

import pytest
from django.db import connection

from tasks.engine.runner import run_claimed_task
from tasks.engine.watchdog import Watchdog
from tasks.models import GenerationTask, Status, TaskEvent
from tasks.services.queue import claim_next_task
from tasks.services.reconcile import reconcile_tasks
from tests.clocks import SKEW, clock_off_by, database_now
from tests.factories import make_task
from tests.seed import ensure_seed_data

STALE = 30  # PRESSROOM_HEARTBEAT_STALE_SECONDS in these tests
NO_WAKEUPS = 10**9  # as a wake-up job calls it: no wake-ups are counted or added
LONG_AGO = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)  # due on any clock


@pytest.fixture(autouse=True)
def engine_settings(settings):
    settings.PRESSROOM_TASK_TYPES = {"blog_post": "tests.tasks.stages.TEST_STAGES"}
    settings.PRESSROOM_HEARTBEAT_SECONDS = 1
    settings.PRESSROOM_HEARTBEAT_STALE_SECONDS = STALE
    settings.PRESSROOM_RETRY_BASE_SECONDS = 0
    return settings


@pytest.fixture
def live_db(transactional_db):
    """Committed rows, so the watchdog's own connection sees what the test wrote."""
    ensure_seed_data()


def claimed(worker: str = "worker-a", **fields) -> GenerationTask:
    task = make_task(available_at=LONG_AGO, **fields)
    got = claim_next_task(worker=worker)
    assert got is not None and got.pk == task.pk
    return got


def assert_still_running(task: GenerationTask, worker: str = "worker-a") -> None:
    task.refresh_from_db()
    assert (task.status, task.worker, task.attempts) == (Status.RUNNING, worker, 1)


def seconds_on_the_database(task: GenerationTask, difference: str) -> float:
    """`difference` (SQL of the task's columns and `statement_timestamp()`) in seconds."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT extract(epoch FROM {difference}) FROM tasks_generationtask WHERE id = %s", [task.pk])
        return float(cursor.fetchone()[0])


def heartbeat_age_on_the_database(task: GenerationTask) -> float:
    return seconds_on_the_database(task, "statement_timestamp() - heartbeat_at")


@pytest.mark.django_db
def test_a_live_run_is_not_taken_by_a_worker_whose_clock_is_ahead():
    task = claimed()
    with clock_off_by(+SKEW):  # another cluster's worker, as a wake-up job starts: reconcile, then claim
        report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
        assert claim_next_task(worker="worker-b") is None
    assert report.changed == 0
    assert_still_running(task)


@pytest.mark.django_db
def test_a_live_run_within_its_deadline_is_not_timed_out_by_a_reconciler_whose_clock_is_ahead():
    task = claimed(timeout_seconds=60)
    with clock_off_by(+SKEW):
        report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    assert report.changed == 0
    assert_still_running(task)


@pytest.mark.django_db
def test_a_run_claimed_by_a_worker_whose_clock_is_behind_is_live_and_keeps_its_deadline():
    with clock_off_by(-SKEW):
        task = claimed(timeout_seconds=60)
    assert abs(heartbeat_age_on_the_database(task)) < 5
    report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    assert report.changed == 0
    assert_still_running(task)


def test_the_beat_of_a_worker_whose_clock_is_behind_keeps_its_run_live(live_db):
    task = claimed()
    GenerationTask.objects.filter(pk=task.pk).update(heartbeat_at=task.heartbeat_at.replace(year=2000))
    with clock_off_by(-SKEW):
        Watchdog(task, worker="worker-a")._beat()
    assert abs(heartbeat_age_on_the_database(task)) < 5
    assert reconcile_tasks(pending_wakeups=NO_WAKEUPS).changed == 0
    assert_still_running(task)


@pytest.mark.django_db
def test_a_dead_worker_s_run_is_recovered_by_a_reconciler_whose_clock_is_behind():
    task = claimed()
    with connection.cursor() as cursor:  # the worker died a minute ago, by the database's clock
        cursor.execute("UPDATE tasks_generationtask SET heartbeat_at = statement_timestamp() - interval '60 seconds' "
                       "WHERE id = %s", [task.pk])
    with clock_off_by(-SKEW):
        report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    assert report.requeued == [task.pk]


def test_a_worker_whose_clock_is_ahead_does_not_time_out_its_own_run_early(live_db):
    with clock_off_by(+SKEW):
        task = claimed(timeout_seconds=30, metadata={"sleep": {"research": 1}})
        assert run_claimed_task(task.pk, worker="worker-a", claimed=task) == Status.COMPLETED


def test_a_worker_whose_clock_is_behind_still_stops_its_run_at_the_deadline(live_db):
    with clock_off_by(-SKEW):
        task = claimed(timeout_seconds=2, metadata={"sleep": {"research": 20}})
        assert run_claimed_task(task.pk, worker="worker-a", claimed=task) == Status.TIMED_OUT


def seconds_until_due_on_the_database(task: GenerationTask) -> float:
    return seconds_on_the_database(task, "available_at - statement_timestamp()")


@pytest.mark.django_db
def test_a_task_due_now_is_claimed_by_a_worker_whose_clock_is_behind():
    task = make_task()
    with clock_off_by(-SKEW):
        got = claim_next_task(worker="worker-a")
    assert got is not None and got.pk == task.pk


@pytest.mark.django_db
def test_a_reconciler_whose_clock_is_behind_wakes_workers_for_a_task_due_now():
    make_task()
    with clock_off_by(-SKEW):
        assert reconcile_tasks(pending_wakeups=0).wakeups == 1


def test_the_backoff_set_by_a_worker_whose_clock_is_behind_is_not_skipped(live_db, engine_settings):
    """A provider's Retry-After of a minute: another cluster must not try again at once (and use
    up the attempts against a provider that asked to wait)."""
    with clock_off_by(-SKEW):
        task = claimed(metadata={"transient_until_attempt": {"research": 1}, "retry_after": {"research": 60}})
        assert run_claimed_task(task.pk, worker="worker-a", claimed=task) == Status.QUEUED
    assert seconds_until_due_on_the_database(task) > 55
    assert claim_next_task(worker="worker-b") is None


def test_the_backoff_set_by_a_worker_whose_clock_is_ahead_is_not_stretched(live_db, engine_settings):
    engine_settings.PRESSROOM_RETRY_BASE_SECONDS = 2
    with clock_off_by(+SKEW):
        task = claimed(metadata={"transient_until_attempt": {"research": 1}})
        assert run_claimed_task(task.pk, worker="worker-a", claimed=task) == Status.QUEUED
    assert 0 < seconds_until_due_on_the_database(task) <= 2


@pytest.mark.parametrize("metadata, outcome", [({}, Status.COMPLETED),
                                               ({"permanent": {"draft": "Refused."}}, Status.FAILED)])
def test_a_run_by_a_worker_whose_clock_is_behind_is_recorded_in_order(live_db, metadata, outcome):
    """A run's events are on its worker's clock, throughout, and its start and end on the
    database's: its lease being on the database's clock puts neither out of order."""
    with clock_off_by(-SKEW):
        task = claimed(metadata=metadata)
        assert run_claimed_task(task.pk, worker="worker-a", claimed=task) == outcome
    task.refresh_from_db()
    times = list(TaskEvent.objects.filter(task=task).order_by("sequence").values_list("created_at", flat=True))
    assert len(times) > 3 and times == sorted(times)
    assert task.started_at <= task.finished_at


def due_in_on_the_database(task: GenerationTask, seconds: float) -> str:
    """Back the task off by `seconds` from the database's time, as the runner does; its
    `available_at` in ISO form, the wake-up job's `not_before`."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tasks_generationtask SET available_at = statement_timestamp() + %s * interval '1 second' "
                       "WHERE id = %s RETURNING available_at", [seconds, task.pk])
        return cursor.fetchone()[0].isoformat()


@pytest.mark.parametrize("skew", [+SKEW, -SKEW])
def test_a_wake_up_job_on_a_skewed_machine_waits_out_the_backoff_and_runs_the_task(live_db, skew):
    """The wake-up job the runner enqueues for a short backoff waits until the task is due, by the
    clock the claim judges it on: one ahead would claim too early and find nothing (the task then
    waited for the reconciler's next pass), one behind would wait its longest."""
    from tasks.jobs import run_next_task

    task = make_task()
    not_before = due_in_on_the_database(task, 1.5)
    with clock_off_by(skew):
        started = time.monotonic()
        assert run_next_task(not_before=not_before) == 1
        waited = time.monotonic() - started
    task.refresh_from_db()
    assert task.status == Status.COMPLETED and waited < 10


# --- tasks made due by a web process ---------------------------------------------------------------
# A task created, retried or sent back for a revision is due at once, by the clock the claim
# judges it on: a web process whose clock is ahead stamped it due that much later, and it waited.

def claimed_at_once(task_id) -> bool:
    got = claim_next_task(worker="worker-a")
    return got is not None and str(got.pk) == str(task_id)


@pytest.mark.django_db
def test_a_task_created_through_the_api_by_a_web_process_whose_clock_is_ahead_is_due_at_once(editor_client):
    from tests.tasks.task_api import BRIEF

    with clock_off_by(+SKEW):
        response = editor_client.post("/api/tasks", BRIEF, format="json")
    assert response.status_code == 201, response.content
    assert abs(seconds_until_due_on_the_database(GenerationTask.objects.get(pk=response.json()["id"]))) < 5
    assert claimed_at_once(response.json()["id"])


@pytest.mark.django_db
def test_a_task_retried_through_the_api_by_a_web_process_whose_clock_is_ahead_is_due_at_once(editor_client, editor):
    from tests.factories import submit_task

    task = submit_task(created_by=editor)
    GenerationTask.objects.filter(pk=task.pk).update(status=Status.FAILED, error="boom", finished_at=database_now())
    with clock_off_by(+SKEW):
        response = editor_client.post(f"/api/tasks/{task.pk}/retry")
    assert response.status_code == 200, response.content
    assert abs((datetime.fromisoformat(response.json()["available_at"].replace("Z", "+00:00"))
                - database_now()).total_seconds()) < 5
    assert claimed_at_once(task.pk)


@pytest.mark.django_db
def test_a_revision_requested_by_a_web_process_whose_clock_is_ahead_is_due_at_once(editor, reviewer):
    from content.services.review import task_reject
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    with clock_off_by(+SKEW):
        task_reject(task=task, by=reviewer, feedback="Shorter, please.", reasons=["length"], revise=True)
    assert claimed_at_once(task.pk)


@pytest.mark.django_db
def test_the_wakeup_of_a_task_created_by_a_web_process_whose_clock_is_ahead_is_seen_by_a_cluster_at_once(
        editor_client, monkeypatch):
    """With the ORM broker (no Redis), the wake-up job is a row that a cluster takes once its
    `lock` is past by the cluster's own clock; stamped with the web process's clock, a job of a
    web process ahead stayed invisible that long (the task waited for the reconciler's next pass)."""
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf

    from tasks.services.queue import enqueue_broker
    from tests.tasks.task_api import BRIEF

    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(Conf, "POLL", 0)
    enqueue_broker.cache_clear()
    try:
        with clock_off_by(+SKEW):
            assert editor_client.post("/api/tasks", BRIEF, format="json").status_code == 201
        assert ORM(list_key=Conf.CLUSTER_NAME).dequeue(), "no wake-up job for the cluster"
    finally:
        enqueue_broker.cache_clear()
