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
"""

from __future__ import annotations

import time

from django_q.cluster import Cluster

POLL_SECONDS = 0.1


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

    def run_until_stopped(self) -> None:
        """Start the cluster, run it until SIGINT or SIGTERM, then stop it and wait for its workers
        to finish their jobs. Raises ClusterDied if the sentinel exits on its own."""
        self.start()
        while not self.stop_requested and self.sentinel.is_alive():
            time.sleep(POLL_SECONDS)
        if not self.stop_requested:
            raise ClusterDied(f"the cluster's sentinel exited with status {self.sentinel.exitcode}")
        self.stop()
