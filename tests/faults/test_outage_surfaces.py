"""PostgreSQL stopped for a while as its users see it, through the production processes.

Gunicorn (HTTP, as `make serve` runs it, keeping its connections), Daphne (`make run`'s server and
`make serve`'s WebSocket one) and a cluster running tasks, on the package's own PostgreSQL server,
which is stopped the fast way and started again a few seconds later. While it is away, every
surface answers 503 with Retry-After in its own format (config/outages.py): before, all of them
answered 500, the API's JSON clients an HTML page. A task's watcher is closed with 1011 at its next
access check, so it reconnects with `after=`: before, Daphne could not send 1011 (autobahn refused
the code), and the socket stayed open and silent for good. Once the server is back both web
servers answer at once, the watcher that reconnects catches up without a gap or a repeat, and
every task completes with nothing lost.
"""

from __future__ import annotations

import json
import time
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed

from tasks.models import GenerationTask
from tests.factories import submit_task
from tests.faults.checks import STAGES, all_final, assert_nothing_lost, logs
from tests.faults.watching import follow, watch
from tests.processes import Cluster, GunicornServer, WebServer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECHECK_SECONDS = 1


def call(server: WebServer, path: str, *, token: str | None = None, body: dict | None = None):
    """(status, headers, body text) of one request; status 0 when nothing answered."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    try:
        with urlopen(Request(f"{server.url}{path}", data=data, headers=headers), timeout=15) as response:
            return response.status, response.headers, response.read().decode()
    except HTTPError as error:
        return error.code, error.headers, error.read().decode(errors="replace")
    except (URLError, OSError) as error:
        return 0, {}, str(error)


def test_while_postgresql_is_away_every_surface_answers_503_and_watchers_reconnect_and_catch_up(
    seeded, without_redis, processes, fault_database, editor
):
    env = {"DATABASE_CONN_MAX_AGE": "60", "PRESSROOM_WS_RECHECK_SECONDS": str(RECHECK_SECONDS),
           "PRESSROOM_TASK_CREATE_RATE": "1000/hour"}
    gunicorn = processes(GunicornServer, name="gunicorn", env=env)
    daphne = processes(WebServer, name="daphne", env=env)
    gunicorn.wait_until_ready()
    daphne.wait_until_ready()
    token = str(AccessToken.for_user(editor))
    tasks = [submit_task(created_by=editor, topic=f"Through the outage {n}", metadata={"sleep": {"draft": 4}})
             for n in range(2)]
    cluster = processes(Cluster, name="cluster", workers=2)
    for server in (gunicorn, daphne):  # every kept connection is in use before the outage
        assert call(server, "/")[0] == 200
        assert call(server, "/api/tasks", token=token)[0] == 200

    ws = watch(daphne, tasks[0], editor, after=0)
    seen: list[dict] = []
    closed_with = None
    try:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        wait_for(lambda: connection.close() or GenerationTask.objects.filter(pk=tasks[0].pk, phase="draft").exists(),
                 timeout=60,
                 message=f"the watched task in its draft stage\n{logs(cluster)}")
        fault_database.stop()
        try:
            during = {}
            for server in (gunicorn, daphne):
                for path, kwargs in [("/", {}), (f"/search/?q=outage{server.port}", {}), ("/feeds/rss/", {}),
                                     ("/api/posts", {}), ("/api/tasks", {"token": token}),
                                     ("/api/tasks", {"token": token, "body": {"task_type": "blog_post",
                                                                              "topic": "Sent during the outage"}})]:
                    during[(server.port, path, "body" in kwargs)] = call(server, path, **kwargs)
            deadline = time.monotonic() + RECHECK_SECONDS + 10
            while closed_with is None and time.monotonic() < deadline:
                try:
                    frame = json.loads(ws.recv(timeout=1))
                    if frame.get("type") == "event":
                        seen.append(frame["event"])
                except TimeoutError:
                    continue
                except ConnectionClosed as error:
                    closed_with = error.rcvd.code if error.rcvd else None
        finally:
            fault_database.start()
            connection.close()  # this process's own connection ended with the server
        back = {server.port: call(server, "/api/tasks", token=token)[0] for server in (gunicorn, daphne)}
        pages_back = {server.port: call(server, "/")[0] for server in (gunicorn, daphne)}
    finally:
        ws.close()

    for (port, path, write), (status, headers, text) in during.items():
        assert status == 503, f"{path} on {port}: {status} {text[:300]}\n{logs(gunicorn, daphne)}"
        assert headers["Retry-After"] == "10"
        if path.startswith("/api/"):
            assert json.loads(text)["error"]["code"] == "unavailable"
        else:
            assert "<title>Briefly unavailable · Pressroom</title>" in text and "Traceback" not in text
    assert closed_with == 1011, f"the watcher was not told to reconnect: {closed_with}\n{logs(daphne)}"
    assert set(back.values()) == {200} and set(pages_back.values()) == {200}, (back, pages_back, logs(gunicorn, daphne))

    follow(daphne, tasks[0], editor, seen, timeout=120,
           until=lambda events: any(e["kind"] == "status" and e["status"] == "completed" for e in events))
    wait_for(all_final(tasks), timeout=120, interval=1, message=f"recovery after the outage\n{logs(cluster)}")
    assert_nothing_lost(tasks, status="completed", stages=STAGES)
    sequences = [event["sequence"] for event in seen]
    task = GenerationTask.objects.get(pk=tasks[0].pk)
    assert sequences == list(range(1, task.event_sequence + 1)), "the watcher saw every event once, in order"
    assert not GenerationTask.objects.filter(topic="Sent during the outage").exists(), "a refused write stored nothing"
    assert cluster.running()
    outage_lines = [line for line in (gunicorn.output + daphne.output).splitlines() if "answered" in line and "503" in line]
    assert len(outage_lines) == len(during), "one line per refused request"
    assert "Traceback" not in "\n".join(line for line in gunicorn.output.splitlines() if "config.outages" in line)
