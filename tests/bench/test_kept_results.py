"""The kept-results benchmark (bench/kept_results.py): its table, and a small run end to end that
starts with the results table full and counts completions in its window."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.harness import BASE_DIR
from bench.kept_results import WindowResult, parse_args, report


def test_the_table_gives_tasks_per_second_and_cpu_per_task():
    result = WindowResult(broker="redis", saved=0, completed=1500, seconds=10.0, monitor_cpu=0.3, worker_cpu=7.5)
    assert report([result]).splitlines()[2] == "| redis | 150.0 | 0.20 | 5.00 | 0 |"


@pytest.mark.parametrize("argv", [["--tasks", "100"], ["--window", "0"], ["--window", "500"], ["--workers", "0"],
                                  ["--database-name", "pressroom"]])
def test_arguments_out_of_range_are_refused(argv):
    with pytest.raises(SystemExit):
        parse_args(argv)


@pytest.mark.slow
def test_a_small_run_starts_with_the_limit_of_results_and_counts_tasks_in_its_window(bench_database):
    command = [sys.executable, "bench/kept_results.py", "--tasks", "600", "--window", "2", "--broker", "orm",
               "--timeout", "120", "--database-name", bench_database]

    run = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "orm: 1000 kept results; queueing 600 tasks" in output, output[-3000:]
    row = next(line for line in output.splitlines() if line.startswith("| orm |"))
    tasks_per_second, monitor_ms, workers_ms, saved = (cell.strip() for cell in row.strip("|").split("|")[1:])
    assert float(tasks_per_second) > 0 and float(workers_ms) > 0 and float(monitor_ms) >= 0
    assert saved == "0", "the monitor saved the results of wake-up jobs that succeeded"
