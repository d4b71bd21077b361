"""Retrying transient failures: exponential backoff with jitter, honouring Retry-After.

Two levels use the same delay rule: a single call (`call_with_retries`, e.g. one provider
request answered 429) is retried inside the running stage; a whole run that still failed
transiently is requeued by the runner with `available_at` pushed back.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from tasks.exceptions import TransientError

logger = logging.getLogger(__name__)
T = TypeVar("T")


def backoff_delay(attempt: int, *, retry_after: float | None = None) -> float:
    """Seconds to wait before try `attempt + 1`: base·2^(attempt-1), capped, with full jitter in
    its upper half; never less than the server's Retry-After."""
    base = settings.PRESSROOM_RETRY_BASE_SECONDS
    cap = settings.PRESSROOM_RETRY_MAX_SECONDS
    exponential = min(cap, base * 2 ** max(0, attempt - 1))
    delay = random.uniform(exponential / 2, exponential)
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), cap))
    return delay


def call_with_retries(ctx, call: Callable[[], T], *, what: str, retries: int | None = None) -> T:
    """Run `call`, retrying it on `TransientError` up to `retries` more times.

    Each try is recorded as an event on the task (`ctx.log`), and the waits between tries are
    interruptible by cancellation and the deadline (`ctx.sleep`). The last error propagates.
    """
    retries = settings.PRESSROOM_CALL_RETRIES if retries is None else retries
    attempt = 1
    while True:
        ctx.check()
        try:
            result = call()
        except TransientError as error:
            if attempt > retries:
                ctx.log(f"{what}: try {attempt} failed ({error}); giving up.", call=what, attempt=attempt,
                        outcome="failed", error=str(error))
                raise
            delay = backoff_delay(attempt, retry_after=error.retry_after)
            ctx.log(f"{what}: try {attempt} failed ({error}); retrying in {delay:.1f}s.", call=what,
                    attempt=attempt, outcome="retry", error=str(error), delay=round(delay, 3))
            ctx.sleep(delay)
            attempt += 1
            continue
        ctx.log(f"{what}: try {attempt} succeeded.", call=what, attempt=attempt, outcome="ok")
        return result
