"""Task WebSockets across real processes: two Daphne servers, a django-q2 cluster, real clients.

The cluster publishes (tasks.events.broadcast in its worker processes) and the Daphne servers
subscribe, through each channel layer in turn: PostgreSQL (REDIS_URL unset in their environment)
and Redis (a `redis-server` of the test's own, as the fault tests start one: on a shared Redis,
anything that empties the database, such as another test run's cache.clear(), also drops the
channel layer's group memberships, and the servers would miss broadcasts; skipped when
`redis-server` is not installed). This process's own settings stay as they started;
it only creates the task, reads the sockets and compares them with the TaskEvent rows. Every wait
is bounded and every process is stopped in a fixture.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from urllib.parse import urlsplit

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken
from websockets.sync.client import connect

from tasks.models import GenerationTask, TaskEvent
from tests.factories import submit_task
from tests.faults.servers import RedisServer
from tests.processes import Cluster, WebServer, wait_for
from tests.seed import ensure_seed_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FINISHED = ("completed", "failed", "cancelled", "timed_out")


@pytest.fixture(autouse=True)
def seeded():
    ensure_seed_data()


@pytest.fixture
def processes(tmp_path, layer_env):
    """Start Daphnes and clusters; all are stopped at the end, before the layer's own Redis."""
    started = []

    def start(kind, **kwargs):
        process = kind(tmp_path, **kwargs)
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture(params=["postgres", "redis"])
def layer_env(request, monkeypatch) -> dict:
    """Environment for the subprocesses that selects the channel layer (and broker) under test."""
    monkeypatch.delenv("REDIS_URL", raising=False)  # the subprocesses inherit os.environ
    if request.param == "postgres":
        return {}
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    request.addfinalizer(server.stop)
    server.start()
    return {"REDIS_URL": server.url}


def open_socket(server: WebServer, path: str, user):
    """A real WebSocket client on `path` of `server`, authenticated with ?token=, over a socket
    connected directly (no proxy from the environment)."""
    port = urlsplit(server.url).port
    separator = "&" if "?" in path else "?"
    uri = f"ws://127.0.0.1:{port}{path}{separator}token={AccessToken.for_user(user)}"
    return connect(uri, sock=socket.create_connection(("127.0.0.1", port), timeout=10), max_queue=None,
                   open_timeout=10)


def frames_until(ws, last_sequence: int, *, timeout: float) -> list[dict]:
    """Frames up to the event with `last_sequence` (of any task), reading for at most `timeout` s."""
    frames, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        frames.append(frame)
        if frame["type"] == "event" and frame["event"]["sequence"] >= last_sequence:
            break
    return frames


def test_clients_on_two_servers_receive_every_event_of_a_run_in_order(processes, layer_env, editor):
    task = submit_task(created_by=editor, metadata={"sleep": {"draft": 2}})  # event 1, before anyone watches
    servers = [processes(WebServer, name=f"daphne-{n}", env=layer_env) for n in (1, 2)]
    for server in servers:
        server.wait_until_ready()
    watchers = []
    try:
        for server in servers:
            # The task's own route catches up (event 1) and fills gaps from the database; the
            # all-tasks route has no catch-up, so it shows that every broadcast crossed over.
            watchers.append(one := open_socket(server, f"/ws/tasks/{task.pk}?after=0", editor))
            watchers.append(every := open_socket(server, "/ws/tasks", editor))
            assert json.loads(one.recv(timeout=10))["task"]["last_event_sequence"] == 1
            assert [t["id"] for t in json.loads(every.recv(timeout=10))["tasks"]] == [str(task.pk)]
        cluster = processes(Cluster, workers=1, env=layer_env)

        def finished():
            connection.close()  # a fresh snapshot of the cluster's commits
            return GenerationTask.objects.get(pk=task.pk).status in FINISHED

        def logs() -> str:
            return "\n".join(f"--- {p.log.name}\n{p.output[-3000:]}" for p in (*servers, cluster))

        try:
            wait_for(finished, timeout=90, message="the task to finish")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{logs()}") from None
        stored = [
            {"sequence": e.sequence, "kind": e.kind, "status": e.status, "message": e.message}
            for e in TaskEvent.objects.filter(task=task).order_by("sequence")
        ]
        last = stored[-1]["sequence"]
        assert [e["sequence"] for e in stored] == list(range(1, last + 1))
        assert stored[-1]["status"] == "completed" and last > 10

        received = [frames_until(ws, last, timeout=15) for ws in watchers]
        for n, frames in enumerate(received):
            assert {frame["type"] for frame in frames} == {"event"}, f"watcher {n}: {frames}\n{logs()}"
            events = [{key: f["event"][key] for key in ("sequence", "kind", "status", "message")} for f in frames]
            expected = stored if n % 2 == 0 else stored[1:]  # the all-tasks route starts after its snapshot
            assert events == expected, f"watcher {n} got {[e['sequence'] for e in events]}\n{logs()}"
    finally:
        for ws in watchers:
            ws.close()
