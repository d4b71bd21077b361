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


def test_a_socket_whose_handshake_fails_is_counted_down(editor, monkeypatch):
    """The database (or the channel layer) failing while a socket is opened ends its consumer
    with the error and no disconnect: the socket is gone, so it must not stay counted open."""
    database_down(monkeypatch, "_open_task")
    task = submit_task(created_by=editor)
    start = open_sockets()

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=token_for(editor))
        with pytest.raises(OperationalError):
            await ws.connect(timeout=TIMEOUT)
            await ws.receive_output(timeout=TIMEOUT)

    run(scenario)
    assert open_sockets() == start


def test_a_socket_whose_catch_up_fails_gives_its_user_the_slot_back(editor, monkeypatch):
    """Past the per-user bound's admission, a failing read (the catch-up) ends the consumer the
    same way: the socket is uncounted from the gauge and from its user's share alike."""
    database_down(monkeypatch, "_events_between")
    task = submit_task(created_by=editor)
    start = open_sockets()

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}?after=0", token=token_for(editor))
        with pytest.raises(OperationalError):
            await ws.connect(timeout=TIMEOUT)
            while True:
                await ws.receive_output(timeout=TIMEOUT)

    run(scenario)
    assert open_sockets() == start
    assert tasks.consumers.open_sockets.by_user.get(editor.pk, 0) == 0
