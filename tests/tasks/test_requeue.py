"""The one rule after a run that did not finish: another attempt while attempts are left, else failed.

`tasks.services.requeue` decides for the runner (transient error, with backoff), the reconciler
(vanished worker, due at once) and applies the requeue the lifecycle verbs use as well.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import GenerationTask, Status
from tasks.services.requeue import after_failed_run, requeue_or_give_up

BASE = 10  # PRESSROOM_RETRY_BASE_SECONDS in these tests
CAP = 1000


@pytest.fixture(autouse=True)
def retry_settings(settings):
    settings.PRESSROOM_RETRY_BASE_SECONDS = BASE
    settings.PRESSROOM_RETRY_MAX_SECONDS = CAP


def running_task(*, attempts: int, max_attempts: int) -> GenerationTask:
    return GenerationTask(status=Status.RUNNING, attempts=attempts, max_attempts=max_attempts, worker="w1",
                          heartbeat_at=timezone.now(), deadline_at=timezone.now())


# attempts, max_attempts, backoff, retry_after → give_up, shortest delay, longest delay
DECISIONS = [
    (1, 3, True, None, False, BASE / 2, BASE),
    (2, 3, True, None, False, BASE, 2 * BASE),
    (3, 3, True, None, True, 0, 0),
    (4, 3, True, None, True, 0, 0),
    (1, 1, True, None, True, 0, 0),
    (1, 3, True, 120, False, 120, 120),
    (1, 3, True, 5000, False, CAP, CAP),
    (1, 3, False, None, False, 0, 0),
    (2, 3, False, 120, False, 0, 0),
    (3, 3, False, None, True, 0, 0),
]


@pytest.mark.parametrize("attempts, max_attempts, backoff, retry_after, gives_up, shortest, longest", DECISIONS)
def test_a_failed_run_is_requeued_with_its_backoff_while_attempts_are_left_else_given_up(
    attempts, max_attempts, backoff, retry_after, gives_up, shortest, longest
):
    task = running_task(attempts=attempts, max_attempts=max_attempts)
    decision = after_failed_run(task, backoff=backoff, retry_after=retry_after)
    assert decision.give_up is gives_up
    assert shortest <= decision.delay <= longest


def test_a_requeued_task_is_claimable_after_its_delay_and_owned_by_no_worker():
    task = running_task(attempts=1, max_attempts=3)
    now = timezone.now()
    decision = after_failed_run(task, backoff=True)
    assert requeue_or_give_up(task, decision, now=now, give_up_error="unused") == Status.QUEUED
    assert task.status == Status.QUEUED
    assert (task.worker, task.heartbeat_at, task.deadline_at) == ("", None, None)
    assert task.available_at == now + timedelta(seconds=decision.delay)
    assert task.finished_at is None


def test_a_task_out_of_attempts_fails_with_the_given_error():
    task = running_task(attempts=3, max_attempts=3)
    now = timezone.now()
    decision = after_failed_run(task, backoff=True)
    assert requeue_or_give_up(task, decision, now=now, give_up_error="Gave up after 3 attempts.") == Status.FAILED
    assert (task.status, task.error) == (Status.FAILED, "Gave up after 3 attempts.")
    assert (task.finished_at, task.heartbeat_at) == (now, None)
