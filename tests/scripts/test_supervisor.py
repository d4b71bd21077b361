"""`scripts.supervisor.stop`: nothing a child started outlives the stop.

The children here are small Python programs that start a grandchild and print its pid once both
have set up their signal handling; each sleeps at most a minute, so nothing can be left for long
even if a test fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from scripts.supervisor import stop
from tests.processes import still_running

pytestmark = pytest.mark.slow

GRACE_SECONDS = 1.5


CHILD_ON_SIGTERM = {
    "ignore": "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    "exit": "pass",
    "stop its grandchild and exit": (
        "signal.signal(signal.SIGTERM, lambda *_: (grandchild.terminate(), grandchild.wait(), sys.exit(0)))"
    ),
}


def _start_child(*, child_on_sigterm: str, grandchild_ignores_sigterm: bool) -> tuple[subprocess.Popen, psutil.Process]:
    """A child and the grandchild it started."""
    grandchild = textwrap.dedent(f"""
        import signal, time
        if {grandchild_ignores_sigterm}:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(60)
    """)
    child = textwrap.dedent(f"""
        import signal, subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", {grandchild!r}], stdout=subprocess.PIPE, text=True)
        grandchild.stdout.readline()
        {CHILD_ON_SIGTERM[child_on_sigterm]}
        print(grandchild.pid, flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    return process, psutil.Process(int(process.stdout.readline()))


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_with_what_it_started(capsys):
    child, grandchild = _start_child(child_on_sigterm="ignore", grandchild_ignores_sigterm=True)
    started = time.monotonic()

    stop({"stubborn server": child}, grace_seconds=GRACE_SECONDS)

    assert child.returncode == -9
    assert not still_running(grandchild), "the grandchild outlived the child killed after the grace"
    assert time.monotonic() - started >= GRACE_SECONDS
    assert f"serve: killing {grandchild.pid}, which outlived the process that started it." in capsys.readouterr().err


def test_what_a_stopped_child_left_behind_is_killed_after_the_grace():
    child, grandchild = _start_child(child_on_sigterm="exit", grandchild_ignores_sigterm=True)

    stop({"server": child}, grace_seconds=GRACE_SECONDS)

    assert child.returncode == -15
    assert not still_running(grandchild), "an orphan of the stopped child outlived the stop"


def test_children_that_stop_with_their_own_processes_are_not_waited_for_or_killed(capsys):
    child, grandchild = _start_child(child_on_sigterm="stop its grandchild and exit", grandchild_ignores_sigterm=False)
    started = time.monotonic()

    stop({"server": child}, grace_seconds=30)

    assert child.returncode == 0
    assert not still_running(grandchild)
    assert time.monotonic() - started < 10
    assert "serve: killing" not in capsys.readouterr().err
