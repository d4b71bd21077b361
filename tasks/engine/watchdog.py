"""The watchdog: a thread beside a running task that keeps its heartbeat and stops it in time.

Every `PRESSROOM_HEARTBEAT_SECONDS` it refreshes `heartbeat_at` (only while the task is still
this worker's and running) and reads `cancel_requested_at`; the first beat is one interval after
the claim, which stamped `heartbeat_at` itself. The beats go through one database connection per
process (`heartbeat_connection`), kept between tasks: a watchdog thread lives for one task, and a
connection of its own would be opened and closed for every task. A beat stamps the database
server's time, as the claim does, since the reconciler that judges the heartbeat may run on a
machine whose clock differs from this one's; the deadline is kept on this process's monotonic
clock, as the time the claim left the run, so neither moves with this machine's clock. When the task is cancelled, past its
deadline or no longer this worker's, it records the reason and, while the main thread is inside
interruptible work (a stage's `run`, a retry wait), interrupts it with SIGUSR1 so that a stage
stuck in a slow call stops within a few seconds. Outside interruptible sections the main thread
sees the reason at its next check, so bookkeeping transactions are never cut in half.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from contextlib import contextmanager
from multiprocessing import util as multiprocessing_util

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from config.outages import log_failure
from tasks.exceptions import DeadlineExceeded, LostOwnership, TaskCancelled, TaskInterrupted
from tasks.logging import task_log_context
from tasks.models import GenerationTask, Status

logger = logging.getLogger(__name__)

INTERRUPT_SIGNAL = signal.SIGUSR1
TICK_SECONDS = 0.25

_heartbeat = {"pid": None, "db": None, "where": None}
_heartbeat_lock = threading.Lock()


def _where(settings_dict: dict) -> tuple:
    return tuple(settings_dict.get(key) for key in ("HOST", "PORT", "NAME", "USER"))


def heartbeat_connection():
    """This process's connection for heartbeats, shared by its watchdog threads (one per running
    task, so usually one at a time; psycopg serialises concurrent use). Opened on first use and
    kept; a new one after `fork()` (a child never talks on its parent's socket) or when the
    database settings point elsewhere (tests move them)."""
    with _heartbeat_lock:
        db = _heartbeat["db"]
        where = _where(connections.settings[DEFAULT_DB_ALIAS])
        if db is not None and (_heartbeat["pid"] != os.getpid() or _heartbeat["where"] != where):
            if _heartbeat["pid"] == os.getpid():
                db.close()
            db = None
        if db is None:
            db = connections.create_connection(DEFAULT_DB_ALIAS)
            db.inc_thread_sharing()  # used from each task's watchdog thread in turn
            _heartbeat.update(pid=os.getpid(), db=db, where=where)
            # Closed when the process ends: at interpreter exit, and in a django-q2 worker (a
            # multiprocessing child, which skips atexit) when it stops.
            multiprocessing_util.Finalize(None, close_heartbeat_connection, exitpriority=10)
        return db


def close_heartbeat_connection() -> None:
    """Close this process's heartbeat connection (before dropping a test database, at exit)."""
    with _heartbeat_lock:
        db, pid = _heartbeat["db"], _heartbeat["pid"]
        _heartbeat.update(pid=None, db=None, where=None)
    if db is not None and pid == os.getpid():
        db.close()


def _monotonic_deadline(task: GenerationTask) -> float | None:
    """The run's deadline on this process's monotonic clock. The claim stamped the heartbeat and
    the deadline from the database's clock in one statement, so the time between them is what
    the run has left, whatever this machine's clock says."""
    if task.deadline_at is None:
        return None
    since = task.heartbeat_at or task.started_at
    left = (task.deadline_at - since).total_seconds() if since is not None else task.timeout_seconds
    return time.monotonic() + left


class Watchdog:
    def __init__(self, task: GenerationTask, *, worker: str):
        self.task_id = task.pk
        self.worker = worker
        self.deadline = _monotonic_deadline(task)
        self.timeout_seconds = task.timeout_seconds
        self.reason: type[TaskInterrupted] | None = None
        self._interruptible = False
        self._signalled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"watchdog-{task.pk}", daemon=True)
        self._main_thread = threading.main_thread()
        self._can_signal = threading.current_thread() is self._main_thread
        self._previous_handler = None

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Watchdog:
        if self._can_signal:
            self._previous_handler = signal.signal(INTERRUPT_SIGNAL, self._on_signal)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._can_signal:
            signal.signal(INTERRUPT_SIGNAL, self._previous_handler or signal.SIG_DFL)

    # --- main-thread side -----------------------------------------------------------------
    def raise_if_stopped(self) -> None:
        if self.reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.reason = DeadlineExceeded
        if self.reason is not None:
            raise self.reason(self.describe())

    def describe(self) -> str:
        if self.reason is DeadlineExceeded:
            return f"The task ran past its {self.timeout_seconds}s deadline."
        if self.reason is TaskCancelled:
            return "The task was cancelled."
        return "The task is no longer this worker's."

    @contextmanager
    def interruptible(self):
        """Let a cancel or the deadline interrupt the block (a stage, a wait), then restore what
        held before: a wait nested in a stage (`ctx.sleep` between a call's tries) leaves the rest
        of the stage interruptible."""
        self.raise_if_stopped()
        was = self._interruptible
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = was

    @contextmanager
    def uninterruptible(self):
        """Hold off interruption (a database write in progress), then honour a pending one."""
        was = self._interruptible
        self._interruptible = False
        try:
            yield
        finally:
            self._interruptible = was
        if was and self.reason is not None:
            self._interruptible = False
            raise self.reason(self.describe())

    def _on_signal(self, signum, frame):
        if self._interruptible and self.reason is not None:
            self._interruptible = False
            raise self.reason(self.describe())

    # --- watchdog thread ------------------------------------------------------------------
    def _loop(self) -> None:
        with task_log_context(self.task_id):
            next_beat = time.monotonic() + settings.PRESSROOM_HEARTBEAT_SECONDS
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    self._beat()
                    next_beat = now + settings.PRESSROOM_HEARTBEAT_SECONDS
                if self.reason is None and self.deadline is not None and now >= self.deadline:
                    self._stop_with(DeadlineExceeded)
                if self.reason is not None and self._interruptible and not self._signalled:
                    self._signal_main()
                self._stop.wait(TICK_SECONDS)

    def _beat(self) -> None:
        db = heartbeat_connection()
        for attempt in (1, 2):  # a kept connection may have died meanwhile (a restart): try a new one once
            try:
                with db.cursor() as cursor:
                    cursor.execute(
                        "UPDATE tasks_generationtask SET heartbeat_at = statement_timestamp() WHERE id = %s "
                        "AND worker = %s AND status = %s RETURNING cancel_requested_at",
                        [self.task_id, self.worker, Status.RUNNING],
                    )
                    row = cursor.fetchone()
                break
            except DatabaseError as error:
                db.close()  # the next try connects again
                if attempt == 2:
                    log_failure(logger, error, "Heartbeat failed; the database may be restarting (%s)")
                    return
        if row is None:
            self._stop_with(LostOwnership)
        elif row[0] is not None:
            self._stop_with(TaskCancelled)

    def _stop_with(self, reason: type[TaskInterrupted]) -> None:
        if self.reason is None:
            self.reason = reason
            logger.info("Stopping the task: %s", self.describe())

    def _signal_main(self) -> None:
        if not self._can_signal:
            return
        self._signalled = True
        signal.pthread_kill(self._main_thread.ident, INTERRUPT_SIGNAL)
