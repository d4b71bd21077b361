"""The load benchmark (bench/load_under_pipeline.py) run end to end at a tiny size: its servers,
cluster, fake model and wrk runs fit together, and every task it queues reaches a final state."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from bench.harness import BASE_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("wrk"), reason="needs Debian's wrk (apt-get install wrk)"),
]




def test_the_load_benchmark_measures_both_phases_and_every_task_reaches_a_final_state(bench_database):
    command = [sys.executable, "bench/load_under_pipeline.py", "--tasks", "3", "--duration", "1",
               "--connections", "2", "--posts", "20", "--latency", "0.1", "--web-workers", "1",
               "--workers", "2", "--timeout", "120", "--database-name", bench_database]

    run = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "| blog pages (cache on) | 3 tasks running |" in run.stdout
    assert "| search (cache off) | 3 tasks running |" in run.stdout
    assert "| in a final state | 3 (completed 3) |" in run.stdout
