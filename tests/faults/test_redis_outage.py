"""Redis stopped while configured: broker, channel layer and cache, and what comes back.

Daphne and a cluster run with `REDIS_URL` pointing at a `redis-server` of the test's own, then
that server is killed while a task runs, and started again (empty, on the same port: no
persistence, the worst case). While it is away:
- the blog keeps answering (its shared version lives in the cache; a cache error is a miss and
  the page is rendered from the database);
- the running task runs on (its broadcasts fail and are logged; its events are durable);
- the API answers: throttles that cannot count let requests through (config/throttling.py), and a
  task created meanwhile is stored; its wake-up is lost with Redis, and the reconciler's minutely
  pass adds one once Redis is back;
- WebSocket pushes stop (the channel layer is Redis): a watcher misses live events, which stay
  in the database for its catch-up.
When Redis is back, a task created through the API is enqueued and run again, every task completes
with nothing lost, and a watcher that catches up sees every event once.
"""

from __future__ import annotations

import json
import time
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from tasks.models import GenerationTask
from tests.factories import submit_task
from tests.faults.checks import STAGES, all_final, assert_nothing_lost, logs
from tests.faults.watching import read_events, watch
from tests.processes import Cluster, WebServer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def get(url: str) -> int:
    try:
        with urlopen(url, timeout=10) as response:
            response.read()
            return response.status
    except HTTPError as error:
        return error.code
    except (URLError, OSError):
        return 0


def create_task(web: WebServer, user, topic: str) -> tuple[int, dict]:
    body = json.dumps({"task_type": "blog_post", "topic": topic}).encode()
    request = Request(f"{web.url}/api/tasks", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {AccessToken.for_user(user)}"})
    try:
        with urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, {"body": error.read()[:2000].decode(errors="replace")}


def test_redis_stopped_while_configured_degrades_pushes_only_and_loses_no_task(
    seeded, processes, redis_server, editor
):
    env = {"REDIS_URL": redis_server.url, "PRESSROOM_TASK_CREATE_RATE": "1000/hour", "PYTHONUNBUFFERED": "1"}
    web = processes(WebServer, name="daphne", env=env)
    web.wait_until_ready()
    # Created here, its wake-up goes to this process's broker; the cluster's start wakes it.
    running = submit_task(created_by=editor, topic="Running through the outage", metadata={"sleep": {"draft": 6}})
    cluster = processes(Cluster, name="cluster", workers=1, env=env)
    assert get(f"{web.url}/") == 200
    received: list[dict] = []
    ws = watch(web, running, editor, after=0)
    try:
        read_events(ws, received, timeout=60, until=lambda events: any(e["phase"] == "draft" for e in events))
        assert any(e["phase"] == "draft" for e in received), f"{received}\n{logs(cluster, web)}"

        redis_server.stop()
        outage_began = time.monotonic()
        blog_during = [get(f"{web.url}/") for _ in range(3)]
        public_api_during = get(f"{web.url}/api/posts")
        created_during_status, created_during = create_task(web, editor, "Created while Redis was down")
        before = len(received)
        dropped = read_events(ws, received, timeout=2, until=lambda events: False)
        pushed_during = len(received) - before
        redis_server.start()
        outage = time.monotonic() - outage_began
    finally:
        ws.close()
    blog_after = [get(f"{web.url}/") for _ in range(3)]
    created_status, created = create_task(web, editor, "Created after Redis came back")
    assert created_status == 201, created
    seen = received[-1]["sequence"]
    ws = watch(web, running, editor, after=seen)
    try:
        ws.recv(timeout=10)  # the snapshot
        read_events(ws, received, timeout=60,
                    until=lambda events: any(e["kind"] == "status" and e["status"] == "completed" for e in events))
    finally:
        ws.close()
    assert created_during_status == 201, f"task creation while Redis is down: {created_during}\n{logs(web)}"
    tasks = [running, GenerationTask.objects.get(pk=created_during["id"]), GenerationTask.objects.get(pk=created["id"])]
    wait_for(all_final(tasks), timeout=150, interval=1, message=f"the tasks to finish\n{logs(cluster, web)}")

    assert blog_during == [200, 200, 200], f"the blog answers from the database\n{logs(web)}"
    assert blog_after == [200, 200, 200]
    assert public_api_during == 200, f"the public API's throttle lets requests through\n{logs(web)}"
    assert_nothing_lost(tasks, status="completed", stages=STAGES)
    running.refresh_from_db()
    assert running.attempts == 1, "the running task was not disturbed"
    sequences = [e["sequence"] for e in received]
    assert sequences == list(range(1, running.event_sequence + 1)), f"caught up after {seen}: {sequences}"
    print(f"\nRedis outage of {outage:.1f}s: blog {blog_during} during; {pushed_during} events pushed to the "
          f"open socket during it (socket {'dropped' if dropped else 'stayed open'}); caught up after event {seen}; "
          f"task created after recovery: {created_status}")

