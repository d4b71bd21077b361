"""The in-process engine CPU script (bench/engine_cpu.py): a tiny run end to end runs every task
through the worker's job, says where the CPU went and leaves no task or wake-up job behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.db import connection
from django_q.models import OrmQ

from bench.harness import BASE_DIR, with_database_name
from tasks.models import GenerationTask
from tests.seed import ensure_seed_data

LINE = re.compile(r"postgresql layer, (with|without) broadcasts: 3 tasks, ([\d.]+) ms CPU/task "
                  r"\(main thread ([\d.]+), other threads (-?[\d.]+)\), ([\d.]+) ms wall/task, "
                  r"PostgreSQL ([\d.]+) ms CPU/task")


def run_script(*options: str) -> re.Match:
    environment = {**os.environ, "DATABASE_URL": with_database_name(os.environ["DATABASE_URL"],
                                                                    connection.settings_dict["NAME"])}
    run = subprocess.run([sys.executable, "bench/engine_cpu.py", "--tasks", "3", "--warmup", "1", *options],
                         cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    match = LINE.search(run.stdout)
    assert match, output[-3000:]
    return match


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("option, sends", [((), "with"), (("--without-broadcasts",), "without")])
def test_a_tiny_run_measures_every_task_and_leaves_nothing_behind(option, sends):
    ensure_seed_data()

    match = run_script(*option)

    assert match.group(1) == sends
    process_cpu, main_thread = float(match.group(2)), float(match.group(3))
    assert 0 < main_thread <= process_cpu
    assert float(match.group(6)) >= 0, "PostgreSQL's CPU over the run (counted in clock ticks: 3 tasks may read 0)"
    assert not GenerationTask.objects.exists(), "the run's tasks are deleted"
    assert not OrmQ.objects.exists(), "the run's wake-up jobs are taken off its queue"
