"""The task cluster's main process, stopped by SIGINT or SIGTERM without the deadlock of django-q2's.

django-q2 (1.11) stops a cluster from inside its signal handler: `Cluster.sig_handler` calls
`stop()`, which sets a multiprocessing `Event` and joins the sentinel. Both take locks. When a
signal lands while the interrupted code holds the same lock — a second signal inside the first
handler's `stop_event.set()`, or one inside the start loop's `start_event.is_set()` — the handler
waits for a lock only its own interrupted frame can release, and the process hangs for good
(django-q2 issue #346). A terminal's Ctrl-C reaches the whole process group and `make run` adds a
SIGTERM a moment later: on a test machine one stop in four hung that way. The hung process was then
SIGKILLed, and its sentinel, pusher, monitor and workers lived on as orphans.

`SignalSafeCluster` only records a signal in its handler. Its main loop sees the record and calls
`stop()` once, from ordinary code, where taking a lock is safe. A signal that arrives while the
cluster is starting takes effect as soon as it has started.

Should the sentinel itself die (the OOM killer, a bug), django-q2 leaves its pusher, monitor and
workers running unguarded: still taking jobs, with nobody to enforce their timeouts. On Linux this
process is their subreaper, so they become its children when the sentinel dies, and it ends them
before it exits with an error.

A SIGTERM to the whole process group (systemd's default `KillMode=control-group`, `kill -- -PGID`)
reaches the sentinel and its processes too, and django-q2 leaves them SIGTERM's default: they die
at once. Setting the stop event then waits for every process that was waiting on it to wake, and a
dead one never does: `stop()` hung in `Event.set()` (2 of 4 group stops of `make serve`, `py-spy`
showed `Condition.notify`) until the service manager's SIGKILL, 30 s later under `make serve`, 90 s
under systemd. `SignalSafeCluster.stop` waits for django-q2's stop in a thread of its own, and gives
up on it once the sentinel has been dead for STOP_AFTER_SENTINEL_DIED_SECONDS.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time

import psutil
from django_q.cluster import Cluster

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
ORPHANS_GRACE_SECONDS = 5
STOP_AFTER_SENTINEL_DIED_SECONDS = 2  # then django-q2's stop is waiting for a dead process
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class ClusterDied(Exception):
    """The sentinel (the process that guards the workers) exited without being asked to stop."""


class SignalSafeCluster(Cluster):
    def __init__(self, *args, **kwargs):
        self.stop_requested = False
        super().__init__(*args, **kwargs)  # installs `sig_handler` for SIGINT and SIGTERM

    def sig_handler(self, signum, frame) -> None:
        # Nothing that takes a lock, logs or waits: this may run inside any bytecode of the
        # main program, including one that holds the lock `stop()` needs.
        self.stop_requested = True

    def start(self) -> int:
        """django-q2's start, whose RuntimeError for a sentinel that died while starting (the
        database or broker lost at that moment) is a ClusterDied like any other."""
        try:
            return super().start()
        except RuntimeError as error:
            raise ClusterDied(str(error)) from error

    def run_until_stopped(self) -> None:
        """Start the cluster, run it until SIGINT or SIGTERM, then stop it and wait for its workers
        to finish their jobs. Raises ClusterDied if the sentinel exits on its own."""
        _become_subreaper()
        self.start()
        while not self.stop_requested and self.sentinel.is_alive():
            time.sleep(POLL_SECONDS)
        if not self.stop_requested:
            _end_orphans()
            raise ClusterDied(f"the cluster's sentinel exited with status {self.sentinel.exitcode}")
        self.stop()

    def stop(self) -> bool:
        """django-q2's stop (set the stop event, wait for the sentinel and its workers to finish
        their jobs), waited for here rather than run here: once the sentinel has been dead for
        STOP_AFTER_SENTINEL_DIED_SECONDS it can only be waiting for a dead process to wake from the
        stop event (a SIGTERM to the whole group), so what is left is ended and the stop is over.
        A signal meanwhile only sets `stop_requested` in this thread, as ever."""
        stopped = []
        stopping = threading.Thread(target=lambda: stopped.append(super(SignalSafeCluster, self).stop()),
                                    name="cluster-stop", daemon=True)
        stopping.start()
        sentinel_died_at = None
        while stopping.is_alive():
            stopping.join(POLL_SECONDS)
            if self.sentinel.is_alive():
                continue
            sentinel_died_at = sentinel_died_at or time.monotonic()
            if time.monotonic() - sentinel_died_at >= STOP_AFTER_SENTINEL_DIED_SECONDS:
                logger.warning("The cluster's sentinel died while it was stopping (a SIGTERM to the whole "
                               "process group?); not waiting for it any longer.")
                _end_orphans()
                return False
        return bool(stopped and stopped[0])


def _become_subreaper() -> None:
    """Linux only: processes orphaned below this one (the sentinel's, should it die) become its
    children rather than init's. Elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        logger.warning("Could not become the subreaper of the cluster's processes (errno %s).", ctypes.get_errno())


def _end_orphans() -> None:
    """SIGTERM this process's children (what a dead sentinel left: pusher, monitor, workers), and
    SIGKILL those still running after ORPHANS_GRACE_SECONDS."""
    orphans = psutil.Process().children()
    for orphan in orphans:
        try:
            if orphan.status() == psutil.STATUS_ZOMBIE:  # dead already: only reaped below
                continue
            logger.error("Ending %s, left running by the cluster's dead sentinel.", orphan.pid)
            orphan.terminate()
        except psutil.NoSuchProcess:
            pass
    _, still_running = psutil.wait_procs(orphans, timeout=ORPHANS_GRACE_SECONDS)
    for orphan in still_running:
        try:
            orphan.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(still_running, timeout=ORPHANS_GRACE_SECONDS)
