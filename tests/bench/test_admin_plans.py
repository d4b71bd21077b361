"""The admin plans benchmark (bench/admin_plans.py): its table, and a small run end to end that
seeds the tasks, serves every page both ways and prints a row for each."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.admin_plans import PAGES, VIEWERS, results_table
from bench.harness import BASE_DIR


def test_the_table_sets_each_page_generic_time_against_its_served_time():
    table = results_table([{"viewer": "editor", "page": "running tasks", "path": "/admin/?status=running",
                            "served": 80.0, "generic": 200.0}])

    assert "| editor | running tasks (`/admin/?status=running`) | 80.0 | 200.0 | 2.50 |" in table


@pytest.mark.slow
def test_a_small_run_serves_every_page_both_ways(bench_database):
    command = [sys.executable, "bench/admin_plans.py", "--tasks", "1000", "--repeats", "1",
               "--database-name", bench_database]

    run = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ") and not line.startswith("| viewer")]
    assert len(rows) == len(PAGES) * len(VIEWERS), run.stdout[-3000:]
    assert "Seeded 1000 tasks" in run.stderr + run.stdout
