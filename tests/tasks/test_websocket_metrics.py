"""The open-WebSocket gauge follows real task sockets: up when one is accepted, down when it
closes, whether the client leaves or the server refuses it (tasks.metrics, tasks/consumers.py)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY

import tasks.consumers

from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, next_frame, opened, own_channel_layer, run, seeded, token_for
)

pytestmark = pytest.mark.django_db(transaction=True)


def open_sockets() -> float:
    return REGISTRY.get_sample_value("pressroom_websocket_connections") or 0.0


def opened_total() -> float:
    return REGISTRY.get_sample_value("pressroom_websocket_connections_opened_total") or 0.0


def closed_by_server(code: int) -> float:
    return REGISTRY.get_sample_value("pressroom_websocket_closed_by_server_total", {"code": str(code)}) or 0.0


def test_the_gauge_counts_open_task_sockets(editor):
    task = submit_task(created_by=editor)
    start, start_total = open_sockets(), opened_total()

    async def scenario():
        first = await opened(f"/ws/tasks/{task.pk}", editor)
        second = await opened("/ws/tasks", editor)
        await next_frame(first)
        assert open_sockets() == start + 2
        await first.disconnect()
        assert open_sockets() == start + 1
        await second.disconnect()

    run(scenario)
    assert open_sockets() == start
    assert opened_total() == start_total + 2


def test_a_refused_socket_is_counted_down_when_it_closes():
    start = open_sockets()

    async def scenario():
        ws = communicator("/ws/tasks")  # no token: accepted, then closed as unauthenticated
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)
    assert open_sockets() == start


def database_down(monkeypatch, read: str) -> None:
    """Make the consumers' database read `read` fail as with the database gone."""

    async def failing(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(tasks.consumers, read, failing)


@pytest.mark.parametrize(("read", "query"), [("_open_task", ""), ("_events_between", "?after=0")],
                         ids=["before-admission", "catch-up-after-admission"])
def test_a_socket_whose_handshake_read_fails_is_uncounted(editor, monkeypatch, read, query):
    """The database (or the channel layer) failing while a socket is opened ends its consumer
    with the error and no disconnect: the socket is gone, so it is neither counted open nor, past
    the per-user bound's admission, one of its user's sockets any more."""
    database_down(monkeypatch, read)
    task = submit_task(created_by=editor)
    start = open_sockets()

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}{query}", token=token_for(editor))
        with pytest.raises(OperationalError):
            await ws.connect(timeout=TIMEOUT)
            while True:
                await ws.receive_output(timeout=TIMEOUT)

    run(scenario)
    assert open_sockets() == start
    assert tasks.consumers.open_sockets.by_user.get(editor.pk, 0) == 0


@pytest.mark.parametrize(("path", "user", "headers", "code"), [
    ("/ws/tasks", None, [], 4401),  # no credentials
    ("/ws/tasks/{other}", "editor", [], 4404),  # another editor's task
    ("/ws/nowhere", None, [], 4404),  # no route
    ("/ws/tasks", "editor", [(b"origin", b"https://evil.example")], 4403),  # another site's page
    ("/ws/tasks", "editor", [(b"host", b"evil.example")], 4400),  # a host not in ALLOWED_HOSTS
], ids=["unauthenticated", "not-yours", "unknown-path", "origin", "host"])
def test_every_socket_the_server_closes_is_counted_by_its_code(editor, reviewer, path, user, headers, code):
    other = submit_task(created_by=reviewer)
    before = {watched: closed_by_server(watched) for watched in (4400, 4401, 4403, 4404)}

    async def scenario():
        ws = communicator(path.format(other=other.pk), token=token_for(editor) if user else None, headers=headers)
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected
        assert await close_code(ws) == code
        await ws.disconnect()

    run(scenario)
    assert {watched: closed_by_server(watched) - before[watched] for watched in before} == \
        {watched: (1 if watched == code else 0) for watched in before}


def test_a_socket_over_the_users_bound_is_counted_as_4429(editor, settings):
    settings.PRESSROOM_WS_MAX_SOCKETS_PER_USER = 1
    before = closed_by_server(4429)

    async def scenario():
        first = await opened("/ws/tasks", editor)
        await next_frame(first)
        second = communicator("/ws/tasks", token=token_for(editor))
        connected, _ = await second.connect(timeout=TIMEOUT)
        assert connected
        assert await close_code(second) == 4429
        await second.disconnect()
        await first.disconnect()

    run(scenario)
    assert closed_by_server(4429) == before + 1
