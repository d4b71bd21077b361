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

logger = logging.getLogger(__name__)

WAIT_IN_JOB_MAX_SECONDS = 5


def wait_until(not_before: str | None) -> None:
    """In a job: sleep until `not_before` (ISO time), at most WAIT_IN_JOB_MAX_SECONDS."""
    import time

    if not not_before:
        return
    wait = (datetime.fromisoformat(not_before) - timezone.now()).total_seconds()
    time.sleep(min(max(0.0, wait), WAIT_IN_JOB_MAX_SECONDS))


def enqueue_job_at(func: str, argument: int, *, at: datetime, name: str, when_due: bool = False) -> None:
    """Run `func(argument)` at `at` (not before, by this machine's clock), once the current
    transaction commits. `when_due`: a one-off schedule passes `when_due=True` to the job, which
    checks its time again on the database's clock (the scheduler fires it by its own)."""

    def enqueue():
        delay = (at - timezone.now()).total_seconds()
        try:
            q_options = {"task_name": name, "save": False}
            if delay <= WAIT_IN_JOB_MAX_SECONDS:
                from django_q.tasks import async_task

                kwargs = {"not_before": at.isoformat()} if delay > 0 else {}
                async_task(func, argument, **kwargs, q_options=q_options)
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
