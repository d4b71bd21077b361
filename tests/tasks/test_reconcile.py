"""The reconciler ends or requeues runs whose worker vanished, and touches nothing else.

A run is lost when its heartbeat is older than the staleness window (or it never beat), or when
its deadline passed more than the window ago (hung even if its watchdog still beats). The
clusters' fault tests (`tests/faults/`) kill real workers; these pin each outcome on its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks.models import GenerationTask, Status
from tasks.services.reconcile import reconcile_tasks
from tests.factories import make_task

STALE = 30  # PRESSROOM_HEARTBEAT_STALE_SECONDS in these tests
NO_WAKEUPS = 10**9  # as a wake-up job calls it: no wake-ups are counted or added


@pytest.fixture(autouse=True)
def stale_window(settings):
    settings.PRESSROOM_HEARTBEAT_STALE_SECONDS = STALE


def running(*, beat_ago: float | None, deadline_in: float = 600, **fields) -> GenerationTask:
    now = timezone.now()
    fields.setdefault("attempts", 1)
    fields.setdefault("max_attempts", 3)
    return make_task(
        status=Status.RUNNING, worker="host:1:abc", started_at=now - timedelta(seconds=900),
        heartbeat_at=None if beat_ago is None else now - timedelta(seconds=beat_ago),
        deadline_at=now + timedelta(seconds=deadline_in), **fields,
    )


@pytest.mark.django_db
def test_a_run_whose_heartbeat_stopped_is_requeued_due_at_once():
    task = running(beat_ago=STALE + 5)
    report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    task.refresh_from_db()
    assert report.requeued == [task.pk]
    assert task.status == Status.QUEUED and task.worker == "" and task.heartbeat_at is None
    assert task.available_at <= timezone.now()
    assert task.error.startswith("Requeued: its worker host:1:abc stopped answering (last heartbeat 3")


@pytest.mark.django_db
def test_a_run_that_never_beat_is_requeued():
    task = running(beat_ago=None)
    assert reconcile_tasks(pending_wakeups=NO_WAKEUPS).requeued == [task.pk]
    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert "last heartbeat never" in task.error


@pytest.mark.django_db
def test_a_run_past_its_deadline_by_more_than_the_window_times_out_though_it_still_beats():
    task = running(beat_ago=1, deadline_in=-(STALE + 5), timeout_seconds=600)
    report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    task.refresh_from_db()
    assert report.timed_out == [task.pk]
    assert task.status == Status.TIMED_OUT and task.finished_at is not None
    assert task.error.startswith("Timed out: the task ran past its 600s deadline")


@pytest.mark.django_db
def test_a_run_lost_long_before_its_deadline_is_requeued_though_found_after_it():
    """A worker that stopped beating 10 minutes before its deadline did not run past it: its
    attempt ended with the worker, whenever the reconciler looks. Found only after the deadline —
    every run a database dump caught, restored hours later; a cluster down longer than a task's
    timeout — it was timed out as having "run past its deadline", and never ran again."""
    task = running(beat_ago=3600, deadline_in=-3000, timeout_seconds=900)
    report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    task.refresh_from_db()
    assert report.requeued == [task.pk] and report.timed_out == []
    assert task.status == Status.QUEUED and task.finished_at is None
    assert task.error.startswith("Requeued: its worker host:1:abc stopped answering (last heartbeat 3600s ago)")


@pytest.mark.django_db
def test_a_run_that_beat_until_its_deadline_and_then_vanished_times_out():
    task = running(beat_ago=STALE + 5 + STALE - 1, deadline_in=-(STALE + 5), timeout_seconds=600)
    assert reconcile_tasks(pending_wakeups=NO_WAKEUPS).timed_out == [task.pk]


@pytest.mark.django_db
def test_a_lost_run_of_a_cancelled_task_ends_cancelled():
    task = running(beat_ago=STALE + 5, cancel_requested_at=timezone.now())
    assert reconcile_tasks(pending_wakeups=NO_WAKEUPS).cancelled == [task.pk]
    task.refresh_from_db()
    assert task.status == Status.CANCELLED and task.finished_at is not None


@pytest.mark.django_db
def test_a_lost_run_with_no_attempt_left_fails():
    task = running(beat_ago=STALE + 5, attempts=3, max_attempts=3)
    assert reconcile_tasks(pending_wakeups=NO_WAKEUPS).failed == [task.pk]
    task.refresh_from_db()
    assert task.status == Status.FAILED
    assert task.error.startswith("Gave up after 3 attempts: its worker host:1:abc stopped answering")


@pytest.mark.django_db
def test_live_runs_are_left_alone_and_cost_one_statement():
    beating = running(beat_ago=STALE - 5)
    overdue_within_the_window = running(beat_ago=1, deadline_in=-(STALE - 5))
    with CaptureQueriesContext(connection) as queries:
        report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    assert report.changed == 0
    assert len(queries) == 1
    for task in (beating, overdue_within_the_window):
        task.refresh_from_db()
        assert task.status == Status.RUNNING and task.heartbeat_at is not None


@pytest.mark.django_db
def test_only_lost_runs_change_when_live_ones_run_beside_them():
    live, lost = running(beat_ago=1), running(beat_ago=STALE + 60)
    report = reconcile_tasks(pending_wakeups=NO_WAKEUPS)
    assert report.requeued == [lost.pk]
    live.refresh_from_db()
    assert live.status == Status.RUNNING
