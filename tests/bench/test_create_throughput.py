"""The task-creation benchmark (bench/create_throughput.py): the CPU of every process is split by
group around the submission, and a tiny run end to end stores every task and names each group."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter

import psutil
import pytest

from bench.create_throughput import cpu_split, process_cpu_seconds
from bench.harness import BASE_DIR


def test_this_process_and_the_database_server_are_told_apart():
    groups = {group for group, _ in process_cpu_seconds().values()}
    assert process_cpu_seconds()[os.getpid()][0] == "client (this script)"
    assert "PostgreSQL" in groups  # the suite's own server runs on this machine


def test_the_cpu_spent_inside_the_block_is_counted_to_its_process_group():
    spent: Counter = Counter()
    with cpu_split(spent):
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:
            pass
    assert 0.25 <= spent["client (this script)"] <= 1.0
    assert spent["Gunicorn"] == 0


def _pid_named(name: str) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for process in psutil.process_iter(["cmdline"]):
            if (process.info["cmdline"] or [""])[0] == name:
                return process.pid
        time.sleep(0.05)
    raise AssertionError(f"no process named {name!r} appeared")


def test_a_gunicorn_this_script_started_counts_as_gunicorn():
    name = f"gunicorn: worker [{secrets.token_hex(4)}]"
    child = subprocess.Popen(["bash", "-c", f"exec -a '{name}' sleep 30"])
    try:
        assert process_cpu_seconds()[_pid_named(name)][0] == "Gunicorn"
    finally:
        child.kill()
        child.wait()


def test_a_gunicorn_another_process_started_counts_as_other():
    """Another site's Gunicorn on the machine is not the benchmark's: its CPU is not counted to it."""
    name = f"gunicorn: worker [{secrets.token_hex(4)}]"
    subprocess.run(["bash", "-c", f"(exec -a '{name}' sleep 30 &)"], check=True)  # orphaned: not our descendant
    pid = _pid_named(name)
    try:
        assert process_cpu_seconds()[pid][0] == "other"
    finally:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_small_run_creates_every_task_and_splits_their_cpu(bench_database):
    command = [sys.executable, "bench/create_throughput.py", "--tasks", "40", "--clients", "4", "--broker", "orm",
               "--timeout", "120", "--database-name", bench_database]

    run = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "40 creates from 4 clients" in output and "40 tasks and 40 wake-up jobs stored" in output, output[-3000:]
    assert "Gunicorn " in output and "PostgreSQL " in output and "ms in all" in output, output[-3000:]
