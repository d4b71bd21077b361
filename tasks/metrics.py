"""Prometheus metrics of the task engine: what processes observe, and what the database knows.

Two kinds of values, because a value must add up across every process of every machine:

- **Observed in-process** (stage durations, provider calls and errors, open WebSockets): the
  process that sees the event records it through one of the small functions below
  (`observe_stage`, `observe_provider_call`, `websocket_opened` / `websocket_closed`), so the
  engine, the providers and the consumer each need one line. With `PROMETHEUS_MULTIPROC_DIR` set
  (the serving scripts set it, see `config/metrics.py`), prometheus-client writes each process's
  values to memory-mapped files there and `/metrics` sums the files of every process: django-q2
  workers, Gunicorn workers and Daphne alike. The directory is per machine; Prometheus sums the
  machines.
- **Read from the database at scrape time** (`TaskCollector`: queue depth by status, finished
  tasks by outcome, tokens and cost): the rows are the truth whichever process or machine ran a
  task, so these survive restarts and need no files. Each scrape costs one aggregate query.

Imports flow as everywhere in `tasks`: it knows nothing of `content` or `publishing`; those call
in (the providers call `observe_provider_call`).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from django_q.exceptions import TimeoutException
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from config.rows import add_to_totals
from tasks.exceptions import DeadlineExceeded, LostOwnership, PermanentError, TaskCancelled, TransientError

# prometheus-client writes a process's values into this folder as each metric below is created, so
# it must exist first. A process started without `make run`/`make serve` (a lone `manage.py
# qcluster` on a worker machine) creates it; emptying it is left to whoever starts all the
# processes that share it, since one process cannot know whether the others' files are stale.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Stages are model calls (seconds to minutes) or bookkeeping (milliseconds).
STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, float("inf"))

STAGE_DURATION = Histogram(
    "pressroom_stage_duration_seconds",
    "Time one run of a pipeline stage took, by stage and outcome.",
    ["stage", "outcome"],
    buckets=STAGE_BUCKETS,
)
PROVIDER_CALLS = Counter(
    "pressroom_provider_calls",
    "Calls made to a model, image or search provider, by provider.",
    ["provider"],
)
PROVIDER_ERRORS = Counter(
    "pressroom_provider_errors",
    "Provider calls that failed (an error status, a broken connection, an unreadable answer), by provider.",
    ["provider"],
)
# livesum: summed over the processes whose files are in the folder. The file of a Daphne that
# exited is deleted by the next scrape (`config/metrics_files.py`, as prometheus-client's
# `mark_process_dead` would), and the folder is emptied at every start of make run/serve.
WEBSOCKET_CONNECTIONS = Gauge(
    "pressroom_websocket_connections",
    "WebSocket connections open now.",
    multiprocess_mode="livesum",
)
WEBSOCKET_OPENED = Counter("pressroom_websocket_connections_opened", "WebSocket connections accepted.")
WEBSOCKET_CLOSED_BY_SERVER = Counter(
    "pressroom_websocket_closed_by_server",
    "WebSocket connections the server closed, by close code: refused at the handshake (4400 a bad "
    "request or host, 4401 no valid credentials, 4403 another site's origin, 4404 no such task, 4429 "
    "too many sockets of one user), access lost later (4401, 4403), access not checkable (1011), a "
    "client that does not read what it is sent (1013).",
    ["code"],
)


def stage_outcome(error: BaseException | None) -> str:
    """The `outcome` label of a stage run that ended with `error` (None: it returned)."""
    if error is None:
        return "ok"
    if isinstance(error, TaskCancelled):
        return "cancelled"
    if isinstance(error, (DeadlineExceeded, TimeoutException)):
        return "timed_out"
    if isinstance(error, LostOwnership):
        return "lost"
    if isinstance(error, TransientError):
        return "transient_error"
    if isinstance(error, PermanentError):
        return "permanent_error"
    return "error"


def observe_stage(stage: str, seconds: float, outcome: str) -> None:
    """Record one run of `stage` that took `seconds` and ended in `outcome`."""
    STAGE_DURATION.labels(stage=stage, outcome=outcome).observe(max(0.0, seconds))


@contextmanager
def timed_stage(stage: str):
    """Time the block as one run of `stage`; its outcome is read from the exception it raises.
    The runner wraps each stage's run in this, so the engine needs one line for its metrics."""
    started = time.monotonic()
    try:
        yield
    except BaseException as error:
        observe_stage(stage, time.monotonic() - started, stage_outcome(error))
        raise
    observe_stage(stage, time.monotonic() - started, "ok")


@contextmanager
def observe_provider_call(provider: str):
    """Count one call to `provider`, and its failure if the block raises (anything but the task
    itself stopping the call: cancelled, out of time, taken over). `provider` must come from a
    short fixed set (the catalog's provider kinds, a provider module's name), never from input."""
    PROVIDER_CALLS.labels(provider=provider).inc()
    try:
        yield
    except (TaskCancelled, DeadlineExceeded, LostOwnership):
        raise
    except Exception:
        PROVIDER_ERRORS.labels(provider=provider).inc()
        raise


def websocket_opened(consumer) -> None:
    """Count a socket the consumer just accepted (marked on it, so closing counts it once)."""
    consumer._pressroom_metrics_open = True
    WEBSOCKET_CONNECTIONS.inc()
    WEBSOCKET_OPENED.inc()


def websocket_closed_by_server(code: int | None) -> None:
    """Count a socket the server closes with `code` (one of the fixed codes the consumers, the
    handshake checks and Daphne's send guard use)."""
    WEBSOCKET_CLOSED_BY_SERVER.labels(code=str(code or 1000)).inc()


def websocket_closed(consumer) -> None:
    """Uncount the consumer's socket, if `websocket_opened` counted it."""
    if getattr(consumer, "_pressroom_metrics_open", False):
        consumer._pressroom_metrics_open = False
        WEBSOCKET_CONNECTIONS.dec()


def count_as_removed(task, *, deleted: bool) -> None:
    """Keep what `task` counts toward the counters `TaskCollector` reads from the tasks table
    once its row no longer does: its outcome, when it leaves a finished status (a retry or a
    revision queues it again, or it is deleted), and its tokens and cost when it is deleted.
    Call it with the row locked, in the transaction that changes or deletes it, before either."""
    from tasks.models import FINISHED_STATUSES, RemovedTaskTotals

    finished = 1 if task.status in FINISHED_STATUSES else 0
    spent = (task.input_tokens, task.output_tokens, task.actual_cost) if deleted else (0, 0, Decimal("0"))
    if not finished and not any(spent):
        return
    add_to_totals(RemovedTaskTotals, ("status",), ("tasks", "input_tokens", "output_tokens", "cost"),
                  [(task.status, finished, *spent)])


class TaskCollector(Collector):
    """Queue depth, finished tasks, tokens and cost, read from the tasks table at each scrape.

    One query (the tasks grouped by status, with the totals tasks took with them when they left
    a finished status or the table, `RemovedTaskTotals`) gives all of them, so the values are the
    same whichever web process answers the scrape, and the counters never go down: a retried
    failure stays counted as one, a deleted task's tokens and cost stay spent.
    """

    def collect(self):
        from django.db.models import BooleanField, Count, Sum, Value

        from tasks.models import FINISHED_STATUSES, GenerationTask, RemovedTaskTotals, Status

        present = GenerationTask.objects.order_by().values("status").annotate(
            tasks=Count("id"), input=Sum("input_tokens"), output=Sum("output_tokens"), cost=Sum("actual_cost"),
            removed=Value(False, output_field=BooleanField()),
        )
        removed = RemovedTaskTotals.objects.order_by().annotate(removed=Value(True, output_field=BooleanField()))
        removed = removed.values_list("status", "tasks", "input_tokens", "output_tokens", "cost", "removed")
        rows = list(present.values_list("status", "tasks", "input", "output", "cost", "removed").union(removed, all=True))
        depth = GaugeMetricFamily("pressroom_tasks", "Generation tasks by status, now.", labels=["status"])
        finished = CounterMetricFamily(
            "pressroom_tasks_finished", "Generation tasks that finished, by outcome.", labels=["outcome"]
        )
        for status in Status.values:
            depth.add_metric([status], sum(row[1] for row in rows if row[0] == status and not row[5]))
            if status in FINISHED_STATUSES:
                finished.add_metric([status], sum(row[1] for row in rows if row[0] == status))
        yield depth
        yield finished

        tokens = CounterMetricFamily("pressroom_model_tokens", "Model tokens used by all tasks.", labels=["direction"])
        tokens.add_metric(["input"], sum(row[2] or 0 for row in rows))
        tokens.add_metric(["output"], sum(row[3] or 0 for row in rows))
        yield tokens
        cost = sum((row[4] or Decimal("0") for row in rows), Decimal("0"))
        yield CounterMetricFamily("pressroom_model_cost", "Model cost of all tasks, in the catalog's currency (USD).",
                                  value=float(cost))
