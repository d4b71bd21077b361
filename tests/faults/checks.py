""""Nothing lost": the one assertion every fault test makes about the tasks it ran.

For each task, read fresh from the database:
- it is in the final state the test expects (exactly);
- its progress log is whole: sequences 1..N with no gap and no duplicate, N the task's own
  counter; it opens with `created`; every run (attempt) has its "Attempt n … started." event, and
  the last status event records the state the task is in;
- no stage output is duplicated: at most one checkpoint per stage and revision (the database
  guards that too), every checkpoint's version exists, and every stage that stores one version
  per run (all but qa, whose review rounds are versions of their own) has exactly one version
  per checkpoint — a stage redone after a crash would show as two.
"""

from __future__ import annotations

import re
import time
from collections import Counter

from django.db import connection

from tasks.engine.runner import run_claimed_task
from tasks.services import claim_next_task

from content.models import ContentVersion
from tasks.models import GenerationTask, StageCheckpoint, TaskEvent

FINAL = ("completed", "failed", "cancelled", "timed_out")
STAGES = ["research", "draft", "qa", "image", "format"]  # of the test pipeline and of blog_post alike
MULTI_VERSION_STAGES = {"qa"}
STARTED = re.compile(r"Attempt (\d+) of \d+ started\.")


def statuses(tasks) -> Counter:
    connection.close()  # a fresh snapshot of other processes' commits
    return Counter(GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("status", flat=True))


def all_final(tasks):
    def check() -> bool:
        counts = statuses(tasks)
        return sum(counts.values()) == len(tasks) and set(counts) <= set(FINAL)

    return check


def assert_nothing_lost(tasks, *, status: str, stages: list[str] | None = None) -> None:
    """Fail with every problem found, per task, unless all `tasks` ended in `status` with whole
    logs and no duplicated stage output; `stages` (when given) must all be checkpointed."""
    connection.close()
    problems: list[str] = []
    for task in GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).order_by("created_at"):
        problems += [f"task {task.pk} ({task.topic!r}): {p}" for p in _problems(task, status, stages)]
    found = GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).count()
    if found != len(tasks):
        problems.append(f"{len(tasks) - found} task(s) vanished")
    assert not problems, "\n".join(problems[:40])


def _problems(task: GenerationTask, status: str, stages: list[str] | None) -> list[str]:
    problems = []
    if task.status != status:
        problems.append(f"status {task.status!r}, expected {status!r} (error: {task.error!r})")
    events = list(TaskEvent.objects.filter(task=task).order_by("sequence").values("sequence", "kind", "status", "message"))
    sequences = [e["sequence"] for e in events]
    if sequences != list(range(1, task.event_sequence + 1)):
        problems.append(f"event sequences are not 1..{task.event_sequence}: {sequences}")
    if not events or events[0]["kind"] != "created":
        problems.append("the first event is not `created`")
    status_events = [e for e in events if e["kind"] == "status"]
    if not status_events or status_events[-1]["status"] != task.status:
        problems.append(f"the last status event does not record {task.status!r}")
    started = [int(m.group(1)) for e in status_events if (m := STARTED.match(e["message"]))]
    if started != list(range(1, task.attempts + 1)):
        problems.append(f"{task.attempts} attempt(s) but start events of attempts {started}")
    checkpoints = list(StageCheckpoint.objects.filter(task=task).values("stage", "revision", "data"))
    per_stage = Counter((c["stage"], c["revision"]) for c in checkpoints)
    if any(n > 1 for n in per_stage.values()):
        problems.append(f"a stage checkpointed twice: {per_stage}")
    if stages is not None and {c["stage"] for c in checkpoints} != set(stages):
        problems.append(f"checkpoints {sorted(c['stage'] for c in checkpoints)}, expected {sorted(stages)}")
    versions = Counter(ContentVersion.objects.filter(task=task).values_list("phase", flat=True))
    numbers = set(ContentVersion.objects.filter(task=task).values_list("number", flat=True))
    for checkpoint in checkpoints:
        number = checkpoint["data"].get("version")
        if number is not None and number not in numbers:
            problems.append(f"the {checkpoint['stage']} checkpoint names version {number}, which does not exist")
    for stage in {c["stage"] for c in checkpoints} - MULTI_VERSION_STAGES:
        if versions.get(stage, 0) != per_stage_count(per_stage, stage):
            problems.append(f"{versions.get(stage, 0)} {stage} version(s) for {per_stage_count(per_stage, stage)} "
                            f"checkpoint(s): output duplicated")
    return problems


def per_stage_count(per_stage: Counter, stage: str) -> int:
    return sum(n for (name, _), n in per_stage.items() if name == stage)


def logs(*started) -> str:
    """The tails of the logs of the processes a test started, for its failure messages."""
    return "\n".join(f"--- {p.log.name}\n{p.output[-3000:]}" for p in started)


def work_until_final(task, *, timeout: float) -> GenerationTask:
    """Be the worker: run the task whenever it is due, until it ends or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        claimed = claim_next_task(worker=f"fault-worker-{time.monotonic_ns()}")
        if claimed is not None:
            run_claimed_task(claimed.pk, worker=claimed.worker)
        task.refresh_from_db()
        if task.status in FINAL:
            return task
        time.sleep(0.2)
    raise AssertionError(f"the task did not end within {timeout}s: {task.status} {task.error}")
