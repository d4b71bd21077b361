"""Stage functions for engine tests: a five-stage pipeline whose behaviour each task's
`metadata` steers, run in-process by tests and by real cluster processes (tests/cluster_settings).

metadata keys, each mapping a stage name to a value:
- `sleep`: seconds the stage's run takes (interruptible, as a slow provider call would be);
- `block`: seconds the stage blocks in a plain `time.sleep` (a call that knows nothing of us);
- `transient_until_attempt`: the stage fails transiently while the task's attempt is ≤ this;
- `permanent`: the stage fails permanently with this message;
- `call_failures`: a call inside the stage fails transiently this many times, then succeeds;
- `crash`: the stage raises an unexpected exception with this message;
- `hang`: seconds the stage hangs with signals blocked, as code stuck inside a C call would;
- `cancel_then_transient`: the stage's task is cancelled (as an editor would, between two beats of
  the watchdog), then the stage fails transiently;
- `error_with_nul`: the stage fails with a message holding a NUL, as a provider's error body may
  (metadata cannot hold one): `transient`, `permanent`, `unexpected` (a RuntimeError), or `retried`
  (a call inside the stage fails transiently until its tries run out, each try logged).
One key is a flag for all stages:
- `record_runs`: each execution of a stage's `run` first inserts a row into STAGE_RUNS_TABLE
  (committed at once, outside the engine), so a test can count how often a stage really ran,
  including a run whose worker was killed before its checkpoint (create the table first with
  `create_stage_runs_table()`).
Each stage stores its output as a ContentVersion in `persist`, so tests can count outputs.
"""

from __future__ import annotations

import signal
import time

from django.db import connection

from content.models import ContentVersion
from tasks.engine import Stage, call_with_retries
from tasks.exceptions import PermanentError, TransientError
from tasks.models import GenerationTask
from tasks.services import task_cancel


STAGE_RUNS_TABLE = "test_stage_run"


def create_stage_runs_table() -> None:
    """The table `record_runs` writes to: a test-only table outside the migrations, one row per
    execution of a stage (not per checkpoint), with the attempt and the worker that ran it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {STAGE_RUNS_TABLE} (id bigserial PRIMARY KEY, task_id uuid NOT NULL, "
            "stage text NOT NULL, attempt integer NOT NULL, worker text NOT NULL, "
            "started_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )


def _record_run(ctx, name: str) -> None:
    with connection.cursor() as cursor:  # autocommit: durable before the stage does anything else
        cursor.execute(f"INSERT INTO {STAGE_RUNS_TABLE} (task_id, stage, attempt, worker) VALUES (%s, %s, %s, %s)",
                       [ctx.task.pk, name, ctx.attempt, ctx.worker])


def _setting(ctx, key: str, stage: str, default=None):
    return (ctx.task.metadata.get(key) or {}).get(stage, default)


def _run(name: str):
    def run(ctx):
        if ctx.task.metadata.get("record_runs"):
            _record_run(ctx, name)
        seconds = _setting(ctx, "sleep", name, 0)
        if seconds:
            steps = max(1, int(seconds / 0.2))
            for step in range(steps):
                ctx.sleep(seconds / steps)
                ctx.progress((step + 1) / steps)
        hang = _setting(ctx, "hang", name, 0)
        if hang:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGALRM, signal.SIGTERM})
            time.sleep(hang)
        blocking = _setting(ctx, "block", name, 0)
        if blocking:
            time.sleep(blocking)
        if _setting(ctx, "cancel_then_transient", name):
            task_cancel(task=GenerationTask.objects.get(pk=ctx.task.pk), by="editor")
            raise TransientError(f"{name} is temporarily unavailable")
        with_nul = _setting(ctx, "error_with_nul", name)
        if with_nul:
            _fail_with_nul(ctx, name, with_nul)
        if ctx.attempt <= _setting(ctx, "transient_until_attempt", name, 0):
            raise TransientError(f"{name} is temporarily unavailable", retry_after=_setting(ctx, "retry_after", name))
        message = _setting(ctx, "permanent", name)
        if message:
            raise PermanentError(message)
        crash = _setting(ctx, "crash", name)
        if crash:
            raise RuntimeError(crash)
        failures = _setting(ctx, "call_failures", name, 0)
        if failures:
            calls = {"n": 0}

            def flaky_call():
                calls["n"] += 1
                if calls["n"] <= failures:
                    raise TransientError("HTTP 429 Too Many Requests", retry_after=0)
                return "ok"

            call_with_retries(ctx, flaky_call, what=f"{name} call")
        return f"{name} output of attempt {ctx.attempt}"

    return run


def _fail_with_nul(ctx, name: str, how: str) -> None:
    message = f"{name} answered HTTP 400: bad\x00request"
    if how == "retried":
        def failing_call():
            raise TransientError(message)

        call_with_retries(ctx, failing_call, what=f"{name} call", retries=1)
    raise {"transient": TransientError, "permanent": PermanentError, "unexpected": RuntimeError}[how](message)


def _persist(name: str):
    def persist(ctx, output):
        number = ContentVersion.objects.filter(task_id=ctx.task.pk).count() + 1
        version = ContentVersion.objects.create(task_id=ctx.task.pk, number=number, phase=name, title=name, body=output)
        return {"version": version.number}

    return persist


TEST_STAGES = [
    Stage(name, run=_run(name), persist=_persist(name), weight=weight)
    for name, weight in [("research", 1), ("draft", 3), ("qa", 2), ("image", 1), ("format", 1)]
]
