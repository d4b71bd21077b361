"""The scaling benchmark (bench/cluster_scaling.py): its arguments refuse nonsense, and run end to
end at a tiny size its clusters, fake model and real pipeline fit together, every task completes
with each run, and the table has one row per cluster count."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.cluster_scaling import parse_args
from bench.harness import BASE_DIR


@pytest.mark.parametrize("argv", [
    ["--clusters", "0"], ["--clusters", "1,1"], ["--clusters", "a,b"], ["--clusters", "17"], ["--clusters", ""],
    ["--tasks", "0"], ["--workers", "0"], ["--latency", "-1"], ["--database-name", "pressroom"],
])
def test_nonsense_arguments_are_refused(argv):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2


def test_redis_broker_needs_a_redis_url(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit):
        parse_args(["--broker", "redis"])
    assert parse_args(["--broker", "redis", "--redis-url", "redis://127.0.0.1:6379/9"]).redis_url.endswith("/9")




@pytest.mark.slow
def test_the_scaling_benchmark_runs_every_task_with_each_cluster_count(bench_database):
    command = [sys.executable, "bench/cluster_scaling.py", "--tasks", "4", "--clusters", "1,2", "--workers", "1",
               "--latency", "0.1", "--timeout", "180", "--database-name", bench_database]

    run = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert len(rows) == 2, run.stdout
    assert all("| 4/4 |" in row and row.endswith("| 12 |") for row in rows), run.stdout
    assert "not every task completed" not in run.stdout
