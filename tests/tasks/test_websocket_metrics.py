"""The open-WebSocket gauge follows real task sockets: up when one is accepted, down when it
closes, whether the client leaves or the server refuses it (tasks.metrics, tasks/consumers.py)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, next_frame, opened, own_channel_layer, run, seeded
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
