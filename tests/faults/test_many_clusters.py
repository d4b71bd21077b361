"""Scale-out: three task clusters share one queue, and `kill -9` of one of them mid-run loses nothing.

Three `manage.py qcluster` process groups (two workers each) run 300 tasks from one queue, on
each broker in turn: the ORM broker (PostgreSQL, the default) and Redis (a `redis-server` of the
test's own). Every stage records each execution of its `run` in a table of its own before doing
anything else (tests/tasks/stages.py, `record_runs`), committed at once, so a run cut short by the
kill still counts. The 101st task in line has a slow draft; once its draft runs, the cluster running
it is frozen (SIGSTOP), the tasks its workers hold and the stages they are in are read from the
database, and the whole group is SIGKILLed. The other two clusters carry on, and the reconciler
requeues the dead workers' tasks once their heartbeats go stale.

What the engine promises, and what is asserted:
- every task completes, once: one checkpoint and one stored output per stage, whole event logs
  (tests/faults/checks.py `assert_nothing_lost`);
- a task no worker lost ran each stage exactly once, in one attempt;
- a task the killed cluster held was requeued once (attempt 2); a stage it had checkpointed never
  ran again; exactly the stage in flight at the kill (read while the cluster was frozen: begun,
  not checkpointed) ran twice, since its first run died before its checkpoint and the successor
  runs it again from the last checkpoint. That is the slow task's draft, and for the other task
  held whatever stage it was in, or none when the kill struck between two stages;
- all three clusters took part.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.db import connection

from tasks.models import GenerationTask, StageCheckpoint
from tests.factories import submit_task
from tests.faults.checks import STAGES, all_final, assert_nothing_lost, logs, statuses
from tests.processes import Cluster, wait_for
from tests.tasks.stages import STAGE_RUNS_TABLE, create_stage_runs_table

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASKS = 300
CLUSTERS = 3
WORKERS = 2
METADATA = {"record_runs": True, "sleep": {"draft": 0.05}}  # stages that take a little time
SLOW_DRAFT = 8  # seconds: the draft of the task in flight when its cluster is killed


def group_pids(pgid: int) -> set[int]:
    """Every live process of the process group `pgid` (a cluster: parent, sentinel, workers...)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.add(int(entry.name))
    return pids


def worker_pid(worker: str) -> int:
    """The OS process id inside a claim's worker id (`host:pid:random`, tasks/jobs.py)."""
    return int(worker.rsplit(":", 2)[1])


@pytest.fixture(params=["orm", "redis"])
def broker_env(request, monkeypatch) -> dict:
    """The clusters' environment for the broker under test. For Redis, this process enqueues its
    wake-up jobs there too (django-q2 reads its broker from `Conf`), as a web process would."""
    from django_q.conf import Conf

    monkeypatch.delenv("REDIS_URL", raising=False)
    if request.param == "orm":
        monkeypatch.setattr(Conf, "ORM", "default")  # whatever this process started with
        return {}
    server = request.getfixturevalue("redis_server")
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", server.url)
    return {"REDIS_URL": server.url}


@pytest.fixture
def stage_runs(transactional_db):
    create_stage_runs_table()
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_RUNS_TABLE}")


def drafting(task) -> str | None:
    """The worker running `task`'s draft stage, once that run has begun (its run is recorded)."""
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT worker FROM {STAGE_RUNS_TABLE} WHERE task_id = %s AND stage = 'draft'", [task.pk])
        row = cursor.fetchone()
    return row[0] if row else None


def held_by(pids: set[int], tasks) -> set[str]:
    """The tasks running on one of `pids` (read after freezing them)."""
    connection.close()
    running = GenerationTask.objects.filter(pk__in=[t.pk for t in tasks], status="running")
    return {str(pk) for pk, worker in running.values_list("pk", "worker") if worker_pid(worker) in pids}


def stages_in_flight(held: set[str]) -> dict[str, list[str]]:
    """Per held task, the stages whose run began in its current attempt and has no checkpoint yet:
    what the kill interrupts (none when it struck between two stages)."""
    runs = stage_runs_by_task()
    in_flight = {}
    for key in held:
        task = GenerationTask.objects.get(pk=key)
        done = set(StageCheckpoint.objects.filter(task=task).values_list("stage", flat=True))
        in_flight[key] = sorted({stage for stage, attempt, _ in runs[key]
                                 if attempt == task.attempts and stage not in done})
    return in_flight


def stage_runs_by_task() -> dict[str, list[tuple[str, int, str]]]:
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT task_id, stage, attempt, worker FROM {STAGE_RUNS_TABLE} ORDER BY id")
        rows = cursor.fetchall()
    runs = defaultdict(list)
    for task_id, stage, attempt, worker in rows:
        runs[str(task_id)].append((stage, attempt, worker))
    return runs


def test_three_clusters_run_three_hundred_tasks_exactly_once_and_a_killed_one_loses_nothing(
    seeded, stage_runs, broker_env, processes
):
    # The 101st task in line has a slow draft: whichever cluster runs it is killed in that stage.
    tasks = [submit_task(topic=f"Scale task {n}", metadata=METADATA) for n in range(TASKS // 3)]
    slow = submit_task(topic="The task in flight at the kill", metadata={**METADATA, "sleep": {"draft": SLOW_DRAFT}})
    tasks += [slow] + [submit_task(topic=f"Scale task {n}", metadata=METADATA) for n in range(TASKS // 3 + 1, TASKS)]
    started = time.monotonic()
    clusters = [processes(Cluster, name=f"cluster-{n}", workers=WORKERS, env=broker_env) for n in range(CLUSTERS)]

    worker = wait_for(lambda: drafting(slow), timeout=120, interval=0.2,
                      message=f"the slow task's draft to start\n{logs(*clusters)}")
    doomed = next((c for c in clusters if worker_pid(worker) in group_pids(c.process.pid)), None)
    assert doomed is not None, f"no cluster runs worker {worker}"
    doomed_pids = group_pids(doomed.process.pid)
    os.killpg(doomed.process.pid, signal.SIGSTOP)  # frozen: what it holds can no longer change
    time.sleep(0.5)  # let the server finish any statement or commit already sent
    held = held_by(doomed_pids, tasks)
    in_flight = stages_in_flight(held)
    done_at_kill, killed_after = statuses(tasks)["completed"], time.monotonic() - started
    doomed.kill()
    survivors = [c for c in clusters if c is not doomed]
    assert in_flight.get(str(slow.pk)) == ["draft"], f"the slow task's draft was in flight: {in_flight}"

    wait_for(all_final(tasks), timeout=180, interval=0.5, message=f"all {TASKS} tasks to end\n{logs(*clusters)}")
    elapsed = time.monotonic() - started
    last_unheld = max(t.finished_at for t in GenerationTask.objects.filter(pk__in=[t.pk for t in tasks])
                      .exclude(pk__in=held))
    first_start = min(GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("started_at", flat=True))

    assert_nothing_lost(tasks, status="completed", stages=STAGES)
    attempts = dict(GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("pk", "attempts"))
    checkpointed_in = {
        (str(task_id), stage): attempt
        for task_id, stage, attempt in StageCheckpoint.objects.filter(task__in=tasks).values_list(
            "task_id", "stage", "attempt")
    }
    runs = stage_runs_by_task()
    problems, rerun = [], Counter()
    for task in tasks:
        key = str(task.pk)
        per_stage = Counter(stage for stage, _, _ in runs[key])
        twice = [stage for stage, n in per_stage.items() if n > 1]
        if set(per_stage) != set(STAGES):
            problems.append(f"{key}: stages run {sorted(per_stage)}")
        if key not in held:
            if attempts[task.pk] != 1 or twice:
                problems.append(f"{key} (not lost): attempts {attempts[task.pk]}, runs {runs[key]}")
            continue
        rerun[len(twice)] += 1
        if attempts[task.pk] != 2 or sorted(twice) != in_flight[key]:
            problems.append(f"{key} (lost with the cluster, {in_flight[key] or 'no stage'} in flight): "
                            f"attempts {attempts[task.pk]}, runs {runs[key]}")
        for stage, attempt, _ in runs[key]:
            if checkpointed_in[(key, stage)] < attempt:
                problems.append(f"{key}: {stage} ran again in attempt {attempt} after its checkpoint")
    assert not problems, "\n".join(problems[:40])

    workers = {worker_pid(worker) for rows in runs.values() for _, _, worker in rows}
    assert workers & doomed_pids, "the killed cluster ran tasks before its kill"
    for cluster in survivors:
        assert workers & group_pids(cluster.process.pid), f"every cluster took part\n{logs(cluster)}"
    print(f"\n{len(tasks)} tasks on {CLUSTERS} clusters × {WORKERS} workers: all others done "
          f"{(last_unheld - first_start).total_seconds():.1f} s after the first start, all in {elapsed:.1f} s; "
          f"killed a cluster after {killed_after:.1f} s at {done_at_kill} done, holding {len(held)} task(s) with "
          f"{in_flight} in flight; lost tasks by stages re-run: {dict(rerun)}")
