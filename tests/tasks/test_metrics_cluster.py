"""/metrics and /readyz against real processes: a django-q2 cluster with two worker processes and
a Daphne server sharing one PROMETHEUS_MULTIPROC_DIR, as `make run` starts them.

The stage-duration histograms are observed inside the worker processes; the server's scrape must
show their sum (every stage of every task, whichever worker ran it). /readyz is 200 while the
cluster runs and 503 naming the cluster once it has stopped.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from tasks.models import GenerationTask
from tests.factories import submit_task
from tests.processes import Cluster, WebServer, wait_for
from tests.seed import ensure_seed_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STAGES = ["research", "draft", "qa", "image", "format"]
TOKEN = "cluster-metrics-token-0123456789"
PORT = 18551  # this helper's range (18550-18599)


def get(url: str, **headers) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(server: WebServer) -> dict:
    status, body = get(f"{server.url}/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200, body[:500]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def test_metrics_sum_two_worker_processes_and_readyz_follows_the_cluster(tmp_path):
    ensure_seed_data()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PRESSROOM_METRICS_TOKEN": TOKEN}
    # Each research stage takes 0.6 s, so the two workers run tasks side by side.
    tasks = [submit_task(topic=f"Metrics task {i}", metadata={"sleep": {"research": 0.6}}) for i in range(6)]
    server = WebServer(tmp_path, port=PORT, env=env)
    cluster = Cluster(tmp_path, workers=2, env=env)
    try:
        server.wait_until_ready()

        def finished():
            connection.close()
            return set(GenerationTask.objects.filter(pk__in=[t.pk for t in tasks])
                       .values_list("status", flat=True)) == {"completed"}

        wait_for(finished, timeout=120, message=f"6 tasks to complete\n{cluster.output[-4000:]}")
        workers = {worker.split(":")[1] for worker in GenerationTask.objects.values_list("worker", flat=True)}
        assert len(workers) == 2, f"both worker processes ran tasks: {workers}"

        values = scrape(server)
        for stage in STAGES:
            assert values[("pressroom_stage_duration_seconds_count", (("outcome", "ok"), ("stage", stage)))] == 6
        assert values[("pressroom_stage_duration_seconds_sum", (("outcome", "ok"), ("stage", "research")))] >= 6 * 0.6
        assert values[("pressroom_stage_duration_seconds_bucket",
                       (("le", "0.5"), ("outcome", "ok"), ("stage", "research")))] == 0
        assert values[("pressroom_stage_duration_seconds_bucket",
                       (("le", "+Inf"), ("outcome", "ok"), ("stage", "research")))] == 6
        assert values[("pressroom_tasks_finished_total", (("outcome", "completed"),))] == 6
        assert values[("pressroom_tasks", (("status", "queued"),))] == 0
        # The values came from the workers' own files: one histogram file per worker process.
        histogram_pids = {path.stem.split("_")[-1] for path in metrics_dir.glob("histogram_*.db")}
        assert workers <= histogram_pids, (workers, histogram_pids)

        status, body = get(f"{server.url}/readyz")
        assert status == 200, body
        assert json.loads(body) == {"status": "ok", "checks": {
            "database": "ok", "broker": "ok", "channel_layer": "ok", "cluster": "ok"}}

        cluster.stop()
        time.sleep(0.5)
        status, body = get(f"{server.url}/readyz")
        assert status == 503, body
        assert json.loads(body)["failed"] == ["cluster"]
    finally:
        cluster.stop()
        server.stop()
