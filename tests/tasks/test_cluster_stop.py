"""`tasks.cluster.SignalSafeCluster` (what `manage.py qcluster` runs): SIGINT and SIGTERM stop it,
however close together they come, and nothing it started outlives it.

django-q2's own cluster stopped from inside its signal handler, which takes the lock of a
multiprocessing event; a second signal landing while the first handler held it hung the process
for good (django-q2 issue #346). On a test machine, SIGINT and then SIGTERM 0–400 µs apart — a
terminal's Ctrl-C, then `make run` passing it on — hung django-q2's command in 10 of 38 tries, and
the hung cluster, once SIGKILLed, left its sentinel and workers running. The first test pins the
cause (the handler must not wait for that lock); the process test, six tries, hits the race on
the old command most of the time and shows the whole behaviour."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import threading
import time

import psutil
import pytest

from django_q.cluster import Cluster as DjangoQCluster

from tasks.cluster import ClusterDied, SignalSafeCluster
from tests.processes import Cluster, still_running, wait_for

STOP_TIMEOUT = 20
ATTEMPTS = 6
RUNNING = "running."  # django-q2 logs "Q Cluster <name> running." once its workers are up


class _LiveSentinel:
    def is_alive(self) -> bool:
        return True

    def join(self) -> None:
        pass


@pytest.fixture
def cluster_in_this_process():
    """A SignalSafeCluster that is never started; the test process's signal handlers are restored."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield SignalSafeCluster()
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def test_the_signal_handler_takes_no_lock_so_a_signal_inside_a_stop_cannot_hang_it(cluster_in_this_process):
    cluster = cluster_in_this_process
    cluster.sentinel, cluster.stop_event = _LiveSentinel(), multiprocessing.Event()
    handled = threading.Event()

    def second_signal():
        cluster.sig_handler(signal.SIGTERM, None)
        handled.set()

    with cluster.stop_event._cond:  # what a first handler's stop_event.set() holds when the second signal lands
        threading.Thread(target=second_signal, daemon=True).start()
        assert handled.wait(timeout=5), "the signal handler waited for the stop event's lock"

    assert cluster.stop_requested


def _wait_on(event) -> None:
    event.wait()


def _live_for_a_moment() -> None:
    time.sleep(1)


def test_a_stop_does_not_hang_on_a_process_that_died_waiting_for_the_stop_event(cluster_in_this_process):
    """A SIGTERM to the whole process group kills the sentinel's processes as they wait on the
    stop event; setting it then waits for them to wake, for good (`Condition.notify`, as `py-spy`
    showed `make serve` hung). Here one waiter is killed, and the sentinel dies a moment after the
    stop began: the stop is over soon after, with nothing left running."""
    cluster = cluster_in_this_process
    context = multiprocessing.get_context("fork")
    cluster.stop_event = context.Event()
    waiter = context.Process(target=_wait_on, args=(cluster.stop_event,))
    waiter.start()
    wait_for(lambda: cluster.stop_event._cond._sleeping_count.get_value() == 1, timeout=10,
             message="the waiter to wait on the stop event")
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.join(timeout=10)
    cluster.sentinel = context.Process(target=_live_for_a_moment)
    cluster.sentinel.start()
    outcome = []

    stopping = threading.Thread(target=lambda: outcome.append(cluster.stop()), daemon=True)
    stopping.start()
    stopping.join(timeout=STOP_TIMEOUT)

    assert not stopping.is_alive(), "the stop waited for a process that will never wake"
    assert outcome == [False]
    assert not cluster.sentinel.is_alive()


def test_the_cluster_installs_its_handler_for_sigint_and_sigterm(cluster_in_this_process):
    handler = cluster_in_this_process.sig_handler
    assert signal.getsignal(signal.SIGINT) == handler
    assert signal.getsignal(signal.SIGTERM) == handler


def test_a_sentinel_that_dies_while_starting_is_the_cluster_dying_not_a_runtime_error(cluster_in_this_process,
                                                                                    monkeypatch):
    """django-q2 raises RuntimeError when its sentinel exits during the start (the broker or the
    database lost at that moment); `manage.py qcluster` printed it as a traceback."""
    def sentinel_died(self):
        raise RuntimeError("Q Cluster x failed to start: sentinel exited with code 1")

    monkeypatch.setattr(DjangoQCluster, "start", sentinel_died)

    with pytest.raises(ClusterDied, match="failed to start: sentinel exited with code 1"):
        cluster_in_this_process.start()


def _family(pid: int) -> list[psutil.Process]:
    return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]


def _signals_in_quick_succession(pid: int, gap_seconds: float) -> None:
    os.kill(pid, signal.SIGINT)
    started = time.perf_counter()
    while time.perf_counter() - started < gap_seconds:
        pass  # a busy wait: sleep() cannot wait a few microseconds
    os.kill(pid, signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigint_then_sigterm_a_moment_later_stop_the_cluster_and_all_it_started(tmp_path):
    gaps = random.Random(13)
    for attempt in range(ATTEMPTS):
        cluster = Cluster(tmp_path, name=f"cluster-{attempt}", workers=2)
        try:
            wait_for(lambda: RUNNING in cluster.output, timeout=60, message=f"the cluster to start\n{cluster.output}")
            family = _family(cluster.process.pid)
            assert len(family) == 6  # main process, sentinel, two workers, monitor, pusher

            _signals_in_quick_succession(cluster.process.pid, gap_seconds=gaps.uniform(0, 0.0004))
            try:
                cluster.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"attempt {attempt}: the cluster hung in its stop\n{cluster.output[-3000:]}")
            assert cluster.process.returncode == 0, cluster.output[-3000:]
            wait_for(lambda: not any(still_running(process) for process in family), timeout=10,
                     message=f"attempt {attempt}: every process of the cluster to exit")
        finally:
            cluster.kill()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_cluster_whose_sentinel_dies_ends_what_it_left_and_exits_with_an_error(tmp_path):
    cluster = Cluster(tmp_path, workers=2)
    try:
        wait_for(lambda: RUNNING in cluster.output, timeout=60, message=f"the cluster to start\n{cluster.output}")
        family = _family(cluster.process.pid)
        sentinel = psutil.Process(cluster.process.pid).children()[0]
        sentinel.kill()

        assert cluster.process.wait(timeout=STOP_TIMEOUT) == 1
        assert "CommandError: the cluster's sentinel exited with status -9" in cluster.output
        assert cluster.output.count("left running by the cluster's dead sentinel") == 4  # pusher, monitor, 2 workers
        assert not any(still_running(process) for process in family), "the dead sentinel's workers kept running"
    finally:
        cluster.kill()
