"""`kill -9` of a task cluster and of Daphne while 50 tasks run.

A cluster and Daphne run as separate processes on the package's own PostgreSQL (broker, channel
layer and cache alike). An editor watches one task over a WebSocket. Daphne is killed: the
socket drops. The cluster is killed mid-task: that task's run is lost with its worker. A restarted
Daphne and a successor cluster then finish the work; the editor reconnects with `?after=<last
sequence seen>` and sees the rest. Nothing is lost: every task completes once, with a whole log
and no stage output twice, and the watcher's two sockets together carry every event exactly once.
"""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

from tasks.models import GenerationTask
from tests.factories import submit_task
from tests.faults.checks import STAGES, all_final, assert_nothing_lost, logs, statuses
from tests.faults.watching import follow, read_events, watch
from tests.processes import Cluster, WebServer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UNBUFFERED = {"PYTHONUNBUFFERED": "1"}  # Daphne's access log reaches its file as it happens


def in_draft(events: list[dict]) -> bool:
    return any(e["phase"] == "draft" for e in events)


def completed(events: list[dict]) -> bool:
    return any(e["kind"] == "status" and e["status"] == "completed" for e in events)


def test_killing_the_cluster_and_daphne_while_fifty_tasks_run_loses_nothing(
    seeded, without_redis, processes, editor
):
    watched = submit_task(created_by=editor, priority=10, topic="The watched task", metadata={"sleep": {"draft": 10}})
    tasks = [watched] + [
        submit_task(created_by=editor, topic=f"Crash task {n}") for n in range(49)
    ]
    daphne = processes(WebServer, name="daphne", env=UNBUFFERED)
    daphne.wait_until_ready()
    first = processes(Cluster, name="doomed", workers=2)
    received: list[dict] = []
    early_drops = follow(daphne, watched, editor, received, until=in_draft, timeout=60)
    assert in_draft(received), f"{received}\n{logs(daphne, first)}"
    ws = watch(daphne, watched, editor, after=received[-1]["sequence"])
    try:
        ws.recv(timeout=10)  # the snapshot
        daphne.kill()
        assert read_events(ws, received, timeout=10, until=lambda events: False), "the socket dropped with Daphne"
    finally:
        ws.close()

    wait_for(lambda: statuses(tasks)["completed"] >= 5, timeout=60, message=f"some tasks done\n{logs(first)}")
    first.kill()
    connection.close()
    lost_run = GenerationTask.objects.get(pk=watched.pk)
    assert (lost_run.status, lost_run.phase) == ("running", "draft"), "the watched task's run died with its worker"
    killed_with = dict(statuses(tasks))
    time.sleep(4)  # the killed workers' heartbeats go stale (PRESSROOM_HEARTBEAT_STALE_SECONDS=3)

    daphne = processes(WebServer, name="daphne-restarted", port=daphne.port, env=UNBUFFERED)
    daphne.wait_until_ready()
    second = processes(Cluster, name="successor", workers=2)
    seen = received[-1]["sequence"]
    late_drops = follow(daphne, watched, editor, received, until=completed, timeout=120)
    wait_for(all_final(tasks), timeout=150, interval=1, message=f"all 50 tasks to finish\n{logs(first, second)}")

    assert_nothing_lost(tasks, status="completed", stages=STAGES)
    watched.refresh_from_db()
    assert watched.attempts == 2, "the lost run was requeued once and finished by the successor"
    sequences = [e["sequence"] for e in received]
    assert sequences == list(range(1, watched.event_sequence + 1)), (
        f"the watcher missed or repeated events across the drop: {sequences} (reconnected after {seen})"
    )
    print(f"\nkill -9: at the cluster's kill {killed_with}; watcher reconnected after event {seen}, "
          f"{len(received)} events in all ({early_drops + late_drops} unexpected drops); attempts per task: "
          f"{dict(sorted(statuses_attempts(tasks).items()))}")


def statuses_attempts(tasks) -> dict:
    from collections import Counter

    return Counter(GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("attempts", flat=True))
