"""The engine with real django-q2 cluster processes: ordering, concurrency, crashes, restarts.
(A database restart mid-run is tests/faults/test_database_outage.py, on a server of its own.)

These tests commit their data (transactional database) so the cluster processes see it, start
clusters as separate process groups and kill them the hard way where the behaviour is about
crashes. Timings are bounded: every wait has a timeout and fails with the cluster's log.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.db.models import Count

from content.models import ContentVersion
from tasks.models import GenerationTask, StageCheckpoint, TaskEvent
from tasks.services import task_cancel
from tests.factories import submit_task
from tests.processes import Cluster, wait_for
from tests.seed import ensure_seed_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STAGES = ["research", "draft", "qa", "image", "format"]


@pytest.fixture(autouse=True)
def seeded():
    ensure_seed_data()


@pytest.fixture
def clusters(tmp_path):
    started: list[Cluster] = []

    def start(**kwargs) -> Cluster:
        cluster = Cluster(tmp_path, **kwargs)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def statuses(tasks) -> dict:
    return dict(GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("pk", "status"))


def all_finished(tasks):
    def check():
        connection.close()  # see other processes' commits on a fresh snapshot
        return all(status in ("completed", "failed", "cancelled", "timed_out") for status in statuses(tasks).values())

    return check


def log_of(*clusters: Cluster) -> str:
    return "\n".join(f"--- {c.log.name}\n{c.output[-4000:]}" for c in clusters)


def test_cluster_runs_tasks_by_priority_then_age(clusters):
    tasks = [submit_task(priority=p, topic=f"Task {i} at priority {p}") for i, p in enumerate([0, 5, 0, 10, 5, -3])]
    cluster = clusters(workers=1)
    wait_for(all_finished(tasks), timeout=90, message=f"all tasks to finish\n{log_of(cluster)}")
    run_order = list(GenerationTask.objects.order_by("started_at").values_list("topic", flat=True))
    assert run_order == [
        "Task 3 at priority 10", "Task 1 at priority 5", "Task 4 at priority 5",
        "Task 0 at priority 0", "Task 2 at priority 0", "Task 5 at priority -3",
    ]
    assert set(statuses(tasks).values()) == {"completed"}


def test_two_clusters_run_a_hundred_tasks_each_exactly_once(clusters):
    tasks = [submit_task(topic=f"Bulk task {i}") for i in range(100)]
    first, second = clusters(name="first", workers=2), clusters(name="second", workers=2)
    wait_for(all_finished(tasks), timeout=300, interval=1, message=f"100 tasks to finish\n{log_of(first, second)}")
    assert set(statuses(tasks).values()) == {"completed"}, "none left behind"
    assert set(GenerationTask.objects.values_list("attempts", flat=True)) == {1}, "no task claimed twice"
    starts = TaskEvent.objects.filter(kind="status", message__startswith="Attempt ").values("task").annotate(n=Count("id"))
    assert {row["n"] for row in starts} == {1}
    per_task = ContentVersion.objects.values("task").annotate(n=Count("id"))
    assert len(per_task) == 100 and {row["n"] for row in per_task} == {5}
    workers = {w.rsplit(":", 1)[0] for w in GenerationTask.objects.values_list("worker", flat=True)}
    assert len(workers) >= 2, "both clusters took part"


def test_killing_the_cluster_mid_stage_loses_nothing(clusters):
    task = submit_task(metadata={"sleep": {"draft": 6}})
    first = clusters(name="doomed", workers=1)
    wait_for(
        lambda: (connection.close() or GenerationTask.objects.get(pk=task.pk).phase == "draft"),
        timeout=60, message=f"the task to reach the draft stage\n{log_of(first)}",
    )
    time.sleep(1)
    first.kill()
    assert GenerationTask.objects.get(pk=task.pk).status == "running", "the killed worker left it running"
    time.sleep(4)  # let the heartbeat go stale
    second = clusters(name="successor", workers=1)
    wait_for(all_finished([task]), timeout=120, message=f"the task to finish after the restart\n{log_of(first, second)}")
    task.refresh_from_db()
    assert task.status == "completed" and task.attempts == 2
    phases = list(ContentVersion.objects.filter(task=task).order_by("number").values_list("phase", flat=True))
    assert phases == STAGES, "each stage output exists exactly once"
    assert StageCheckpoint.objects.get(task=task, stage="research").attempt == 1, "research was not redone"
    assert TaskEvent.objects.filter(task=task, message__startswith="Requeued: its worker").exists()


def test_cancelling_a_task_in_a_slow_stage_stops_the_cluster_worker(clusters):
    task = submit_task(metadata={"sleep": {"qa": 60}})
    cluster = clusters(workers=1)
    wait_for(lambda: (connection.close() or GenerationTask.objects.get(pk=task.pk).phase == "qa"),
             timeout=60, message=f"the qa stage\n{log_of(cluster)}")
    task_cancel(task=GenerationTask.objects.get(pk=task.pk), by="tester")
    asked = time.monotonic()
    wait_for(all_finished([task]), timeout=30, message=f"cancellation\n{log_of(cluster)}")
    assert time.monotonic() - asked < 8
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert list(ContentVersion.objects.filter(task=task).values_list("phase", flat=True)) == ["research", "draft"]


def test_a_stage_hung_inside_a_c_call_is_killed_and_recorded_as_timed_out(clusters):
    task = submit_task(metadata={"hang": {"draft": 600}}, timeout_seconds=2)
    cluster = clusters(workers=1, env={"PRESSROOM_TASK_TIMEOUT": "2", "PRESSROOM_TASK_TIMEOUT_MAX": "5"})
    wait_for(all_finished([task]), timeout=90, interval=0.5, message=f"the timeout\n{log_of(cluster)}")
    task.refresh_from_db()
    assert task.status == "timed_out", log_of(cluster)
    assert task.error.startswith("Timed out: the task ran past its 2s deadline")
    assert list(ContentVersion.objects.filter(task=task).values_list("phase", flat=True)) == ["research"]

