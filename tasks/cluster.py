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
"""

from __future__ import annotations

import ctypes
import logging
import sys
import time

import psutil
from django_q.cluster import Cluster

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
ORPHANS_GRACE_SECONDS = 5
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
        logger.error("Ending %s, left running by the cluster's dead sentinel.", orphan.pid)
        try:
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
