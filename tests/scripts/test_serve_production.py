"""`make serve` runs the production shape: Gunicorn for HTTP, Daphne for /ws/, and the task cluster.

Each test starts `make serve` in its own process group on free loopback ports and a scratch
database, waits until it says it is serving, then checks who answers where and how it stops: on
SIGTERM to `make` alone (as a service manager stopping the main process), and when one of its
processes dies on its own. Refusals of a development environment need no server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.processes import free_port
from tests.scripts.make_target import BASE_DIR, MakeTarget

STOP_TIMEOUT = 60
SERVING = "Send SIGTERM or press Ctrl-C to stop."
METRICS_TOKEN = "serve-metrics-token-0123456789ab"

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int | None, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, {**response.headers, "body-length": str(len(response.read()))}
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)
    except OSError:
        return None, {}


def _production_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DATABASE_URL=database_url,
        PRESSROOM_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY="a-test-secret-key-that-is-long-enough-and-random-looking-0c9f2e",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",  # no TLS proxy in front of the test
        HOST="127.0.0.1",
        PORT=str(free_port()),
        PRESSROOM_WS_PORT=str(free_port()),
        PRESSROOM_WEB_WORKERS="2",
        PRESSROOM_METRICS_TOKEN=METRICS_TOKEN,
        HOME=str(tmp_path / "home"),  # where Gunicorn would put its control socket (there is none)
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # make serve picks <PRESSROOM_VAR_DIR>/metrics
    env.pop("XDG_RUNTIME_DIR", None)
    return env


def _metrics(url: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


class MakeServe(MakeTarget):
    def __init__(self, env: dict[str, str], log: Path):
        self.web = f"http://127.0.0.1:{env['PORT']}"
        self.ws = f"ws://127.0.0.1:{env['PRESSROOM_WS_PORT']}"
        super().__init__("serve", env, log)

    def wait_until_serving(self) -> None:
        self.wait_until(lambda: SERVING in self.output)

    def processes(self) -> dict[str, psutil.Process]:
        """The serving processes under make, by role: web (the Gunicorn master), ws, cluster."""
        found = {}
        for child in psutil.Process(self.process.pid).children(recursive=True):
            command = " ".join(child.cmdline())
            parent = " ".join(child.parent().cmdline())
            if "gunicorn" in command and "gunicorn" not in parent:  # the master, not a worker
                found["web"] = child
            elif "daphne" in command:
                found["ws"] = child
            elif "qcluster" in command and "qcluster" not in parent:  # not its sentinel or workers
                found["cluster"] = child
        return found

    def everything(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"make serve did not stop within {STOP_TIMEOUT}s:\n{self.output[-5000:]}") from None


def _gone(processes: list[psutil.Process]) -> list[str]:
    return [" ".join(process.cmdline()) for process in processes if process.is_running() and process.status() != "zombie"]


def _websocket_close_code(url: str, origin: str | None = None) -> int:
    """Open a socket without credentials; the consumer refuses it with its close code."""
    with connect(url, open_timeout=10, origin=origin) as socket:
        try:
            socket.recv(timeout=10)
        except ConnectionClosed as closed:
            return closed.rcvd.code
    raise AssertionError("the socket was not closed")


def test_make_serve_runs_gunicorn_daphne_and_the_cluster_and_sigterm_stops_them_all(tmp_path, scratch_database_url):
    run = MakeServe(_production_env(tmp_path, scratch_database_url), tmp_path / "serve.log")
    try:
        run.wait_until_serving()
        roles = run.processes()
        assert set(roles) == {"web", "ws", "cluster"}, run.output[-3000:]
        assert len(roles["web"].children()) == 2, "two Gunicorn workers (PRESSROOM_WEB_WORKERS=2)"
        assert not (tmp_path / "home" / ".gunicorn").exists(), "no control socket another master could take over"
        started = run.everything()

        for path in ("/healthz", "/"):
            status, headers = _get(f"{run.web}{path}")
            assert status == 200, path
            assert headers.get("Server") == "gunicorn", (path, headers)
        _, headers = _get(f"{run.web}/")
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        status, headers = _get(f"{run.web}/static/admin/css/base.css")
        assert status == 200 and int(headers["body-length"]) > 1000, "collectstatic ran; WhiteNoise serves its files"

        assert _websocket_close_code(f"{run.ws}/ws/tasks") == 4401  # Daphne answered; no credentials
        # Without a proxy the pages (Gunicorn's port) open their sockets on Daphne's port: allowed.
        assert _websocket_close_code(f"{run.ws}/ws/tasks", origin=run.web) == 4401
        assert _websocket_close_code(f"{run.ws}/ws/tasks", origin="http://127.0.0.1:1") == 4403  # not a page of ours

        # Ready under Gunicorn (WSGI: the channel-layer round trip runs on a loop of its own) once
        # the cluster reported in.
        run.wait_until(lambda: _get(f"{run.web}/readyz")[0] == 200)
        # Daphne counted those sockets in its own files; a Gunicorn worker's /metrics sums them.
        values = _metrics(run.web)
        assert values["pressroom_websocket_connections_opened_total"] >= 2, values
        assert values["pressroom_websocket_connections"] == 0, values
        assert (tmp_path / "var" / "metrics").is_dir()
        # Production logs are JSON lines; each request's line carries the id echoed to the client.
        request_lines = [json.loads(line) for line in run.output.splitlines()
                         if line.startswith("{") and '"pressroom.request"' in line]
        assert any(line["path"] == "/" and line["status"] == 200 for line in request_lines), run.output[-3000:]
        assert all(len(line["request_id"]) == 32 for line in request_lines)

        run.process.send_signal(signal.SIGTERM)  # to make alone: it passes it on
        run.wait()  # make itself then ends by the signal it was sent (-15): GNU make re-raises it
    finally:
        run.kill()
    assert "serve: stopped." in run.output and "exited; stopping the others" not in run.output
    assert _gone(started) == [], "processes outlived SIGTERM"
    assert _get(f"{run.web}/healthz")[0] is None


def test_when_one_process_dies_make_serve_stops_the_others_and_fails(tmp_path, scratch_database_url):
    run = MakeServe(_production_env(tmp_path, scratch_database_url), tmp_path / "serve.log")
    try:
        run.wait_until_serving()
        started = run.everything()
        run.processes()["ws"].kill()

        assert run.wait() != 0
    finally:
        run.kill()
    assert "the WebSocket server (Daphne) exited; stopping the others." in run.output
    assert _gone(started) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"DEBUG": "1"}, "DEBUG is on"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
    ],
)
def test_serve_refuses_a_development_environment(tmp_path, change, reason):
    env = {**_production_env(tmp_path, "postgresql://nobody@127.0.0.1:1/never"), **change}

    result = subprocess.run(
        [sys.executable, "scripts/serve_production.py"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "serve: refusing to start" in result.stderr and reason in result.stderr
