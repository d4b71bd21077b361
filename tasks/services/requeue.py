"""After a run failed transiently or its worker vanished: run again while attempts are left, else give up.

The runner (a transient error), the reconciler (a stale heartbeat) and the lifecycle verbs (a
manual retry, a revision) all put a task back in the queue; the first two also decide whether it
may run again at all. Both the decision (`after_failed_run`) and the two writes it leads to
(`requeue`, `give_up`) live here, so "attempts left → queued again after a backoff, else failed"
is written once. `tests/tasks/test_requeue.py` pins the decision table. The writes change the row
in memory; the caller holds the row lock, saves and emits the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tasks.engine.retry import backoff_delay
from tasks.models import GenerationTask, Status
from tasks.transitions import change_status


@dataclass(frozen=True)
class AfterFailedRun:
    """Run again after `delay` seconds, or (`give_up`) end the task as failed."""

    give_up: bool
    delay: float = 0.0


def after_failed_run(task: GenerationTask, *, backoff: bool, retry_after: float | None = None) -> AfterFailedRun:
    """What follows a run that did not finish: another attempt while `attempts < max_attempts`.

    `backoff` spaces the attempts (`engine.retry.backoff_delay`, honouring `retry_after`): the
    runner asks for it after a transient error; a run whose worker vanished is due again at once.
    """
    if task.attempts >= task.max_attempts:
        return AfterFailedRun(give_up=True)
    delay = backoff_delay(task.attempts, retry_after=retry_after) if backoff else 0.0
    return AfterFailedRun(give_up=False, delay=delay)


def requeue(task: GenerationTask, *, available_at: datetime) -> None:
    """Back in the queue, claimable from `available_at`, owned by no worker and with no deadline."""
    change_status(task, Status.QUEUED)
    task.worker = ""
    task.heartbeat_at = None
    task.deadline_at = None
    task.available_at = available_at


def give_up(task: GenerationTask, *, now: datetime, error: str) -> None:
    """Failed for good: no attempt is left."""
    change_status(task, Status.FAILED)
    task.error = error
    task.finished_at = now
    task.heartbeat_at = None


def requeue_or_give_up(task: GenerationTask, decision: AfterFailedRun, *, now: datetime, give_up_error: str) -> str:
    """Apply `decision`; the new status."""
    if decision.give_up:
        give_up(task, now=now, error=give_up_error)
        return Status.FAILED
    requeue(task, available_at=now + timedelta(seconds=decision.delay))
    return Status.QUEUED
