"""Enqueueing the jobs of webhooks and notifications at a given time, after commit.

A job due now, or within `WAIT_IN_JOB_MAX_SECONDS`, goes straight to the broker (with
`not_before`, the engine's own way: the job waits that long before it works); one due later is a
django-q2 one-off `Schedule`, which the cluster's scheduler (it looks every 30 s) turns into a job
when it is due. The workers that wait are the ones that run tasks, so the wait is kept short: with
30 s, two failing subscriptions held both workers of a default cluster through their first backoff
and a new task waited half a minute. An enqueue that fails is logged: the row it was
for stays pending and is visible in the admin. A job that succeeds, sent now or by a schedule,
leaves no django-q2 result (`save: False`), as the engine's wake-ups do not
(`tasks.services.queue.wake_workers`): its outcome is the delivery's or the notification's own row.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tasks.services.queue import enqueue_broker

logger = logging.getLogger(__name__)

WAIT_IN_JOB_MAX_SECONDS = 5


def wait_until(not_before: str | None) -> None:
    """In a job: sleep until `not_before` (ISO time, by this machine's clock), at most
    WAIT_IN_JOB_MAX_SECONDS."""
    if not_before:
        wait_for((datetime.fromisoformat(not_before) - timezone.now()).total_seconds())


def wait_for(seconds: float) -> None:
    """In a job: sleep `seconds`, at most WAIT_IN_JOB_MAX_SECONDS."""
    import time

    time.sleep(min(max(0.0, seconds), WAIT_IN_JOB_MAX_SECONDS))


def enqueue_job_at(func: str, argument: int, *, at: datetime, name: str, when_due: bool = False) -> None:
    """Run `func(argument)` at `at` (not before, by this machine's clock), once the current
    transaction commits. `when_due`: the job gets `when_due=True` instead of a time to wait for,
    and finds its time, and waits for it, on the database's clock (a one-off schedule is fired
    by its scheduler's clock, a job waiting in a worker would wait by that worker's: either may be
    ahead of this machine's)."""

    def enqueue():
        delay = (at - timezone.now()).total_seconds()
        try:
            q_options = {"task_name": name, "save": False}
            if delay <= WAIT_IN_JOB_MAX_SECONDS:
                from django_q.tasks import async_task

                kwargs = {"when_due": True} if when_due else {"not_before": at.isoformat()} if delay > 0 else {}
                # Through the engine's broker (`enqueue_broker`): one per process, and with the ORM
                # broker a job every cluster can take at once, whatever this machine's clock says.
                async_task(func, argument, **kwargs, q_options={**q_options, "broker": enqueue_broker()})
            else:
                from django_q.models import Schedule

                # The scheduler passes a schedule's keyword arguments, q_options among them, to async_task.
                due = "when_due=True, " if when_due else ""
                Schedule.objects.create(func=func, args=repr((argument,)), kwargs=f"{due}q_options={q_options!r}",
                                        schedule_type=Schedule.ONCE, repeats=-1, next_run=at,
                                        name=f"{name}-{argument}-{at.timestamp()}"[:100])
        except Exception:
            logger.warning("Could not enqueue %s(%s)", func, argument, exc_info=True)

    transaction.on_commit(enqueue)
