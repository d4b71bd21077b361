"""`make serve-workers`: a worker-only machine runs the cluster, and a metrics server that sums what
its worker processes observed; no site is served there.

The served processes use the test database and the test pipeline (tests.cluster_settings), so the
tasks this test submits are run by the cluster `make serve-workers` started, as a worker machine
runs the tasks a web machine queued.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from tasks.models import GenerationTask
from tests.factories import submit_task
from tests import processes
from tests.processes import FAST_ENGINE_ENV, free_port, wait_for
from tests.scripts.make_target import BASE_DIR, MakeTarget
from tests.seed import ensure_seed_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN = "worker-machine-token-0123456789ab"
STAGES = ["research", "draft", "qa", "image", "format"]
SERVING = "Send SIGTERM or press Ctrl-C to stop."


def worker_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "PROMETHEUS_MULTIPROC_DIR"}}
    env.update(
        DATABASE_URL=processes.test_database_url(),
        DJANGO_SETTINGS_MODULE="tests.cluster_settings",
        PRESSROOM_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY=settings.SECRET_KEY,  # every machine's: the jobs this process queues are signed with it
        ALLOWED_HOSTS="127.0.0.1",
        HOST="127.0.0.1",
        PRESSROOM_METRICS_PORT=str(free_port()),
        PRESSROOM_WORKERS="2",
        HOME=str(tmp_path / "home"),  # where Gunicorn would put its control socket (there is none)
        **FAST_ENGINE_ENV,
    )
    env.pop("XDG_RUNTIME_DIR", None)
    env.update(extra)
    return env


def get(url: str, **headers) -> tuple[int | None, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None, ""


def roles(run: MakeTarget) -> dict[str, psutil.Process]:
    found = {}
    for child in psutil.Process(run.process.pid).children(recursive=True):
        try:
            command, parent = " ".join(child.cmdline()), " ".join(child.parent().cmdline())
        except (psutil.ZombieProcess, psutil.NoSuchProcess):  # a short-lived helper of the cluster's start
            continue
        if "gunicorn" in command and "gunicorn" not in parent:
            found["metrics"] = child
        elif "qcluster" in command and "qcluster" not in parent:
            found["cluster"] = child
    return found


def stop(run: MakeTarget) -> list[psutil.Process]:
    started = [psutil.Process(run.process.pid), *psutil.Process(run.process.pid).children(recursive=True)]
    run.process.send_signal(signal.SIGTERM)
    try:
        run.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"make serve-workers did not stop:\n{run.output[-4000:]}") from None
    return [process for process in started if process.is_running() and process.status() != "zombie"]


def test_a_worker_machine_runs_tasks_and_serves_its_workers_metrics_only(tmp_path):
    ensure_seed_data()
    env = worker_env(tmp_path, PRESSROOM_METRICS_TOKEN=TOKEN)
    metrics_url = f"http://127.0.0.1:{env['PRESSROOM_METRICS_PORT']}"
    tasks = [submit_task(topic=f"Worker machine task {number}") for number in range(4)]
    run = MakeTarget("serve-workers", env, tmp_path / "serve-workers.log")
    try:
        run.wait_until(lambda: SERVING in run.output)
        assert set(roles(run)) == {"metrics", "cluster"}, run.output[-3000:]
        assert not (tmp_path / "home" / ".gunicorn").exists(), "no control socket another master could take over"

        def finished():
            connection.close()
            return set(GenerationTask.objects.filter(pk__in=[task.pk for task in tasks])
                       .values_list("status", flat=True)) == {"completed"}

        wait_for(finished, timeout=120, message=f"the machine's cluster to run 4 tasks\n{run.output[-4000:]}")

        status, body = get(f"{metrics_url}/metrics", Authorization=f"Bearer {TOKEN}")
        assert status == 200, (body[:500], run.output[-3000:])
        values = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                  for family in text_string_to_metric_families(body) for sample in family.samples}
        # Observed in the cluster's worker processes, summed from their files by the metrics server.
        for stage in STAGES:
            assert values[("pressroom_stage_duration_seconds_count", (("outcome", "ok"), ("stage", stage)))] == 4
        assert values[("pressroom_tasks_finished_total", (("outcome", "completed"),))] == 4
        assert any((tmp_path / "var" / "metrics").glob("histogram_*.db"))

        assert get(f"{metrics_url}/metrics")[0] == 401
        for path in ("/", "/admin/", "/api/tasks"):
            assert get(f"{metrics_url}{path}")[0] == 404, path
        assert f"Metrics: {metrics_url}/metrics" in run.output

        assert stop(run) == [], "processes outlived SIGTERM"
    finally:
        run.kill()
    assert "serve: stopped." in run.output and "exited; stopping the others" not in run.output


def test_without_metrics_access_only_the_cluster_runs(tmp_path):
    env = worker_env(tmp_path)  # neither PRESSROOM_METRICS_TOKEN nor PRESSROOM_METRICS_NETWORKS
    env.pop("PRESSROOM_METRICS_TOKEN", None)
    env.pop("PRESSROOM_METRICS_NETWORKS", None)
    run = MakeTarget("serve-workers", env, tmp_path / "serve-workers.log")
    try:
        run.wait_until(lambda: SERVING in run.output)
        assert set(roles(run)) == {"cluster"}
        assert "Metrics: off" in run.output
        assert get(f"http://127.0.0.1:{env['PRESSROOM_METRICS_PORT']}/healthz")[0] is None
        assert stop(run) == []
    finally:
        run.kill()


def test_serve_workers_refuses_a_development_environment(tmp_path):
    debug = {**worker_env(tmp_path), "DEBUG": "1"}
    no_hosts = {**worker_env(tmp_path), "ALLOWED_HOSTS": ""}
    for env, reason in ((debug, "DEBUG is on; `make serve-workers` is for production"),
                        (no_hosts, "ALLOWED_HOSTS is not set")):
        result = subprocess.run([sys.executable, "scripts/serve_workers.py"], cwd=BASE_DIR, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "serve: refusing to start" in result.stderr and reason in result.stderr


def test_serve_workers_refuses_a_metrics_port_past_65535(tmp_path):
    env = worker_env(tmp_path, PRESSROOM_METRICS_PORT="70000")
    result = subprocess.run([sys.executable, "scripts/serve_workers.py"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "serve: PRESSROOM_METRICS_PORT must be between 1 and 65535, got 70000." in result.stderr
