"""A task socket opened while the channel layer cannot be reached (Redis away, with REDIS_URL):
the handshake is accepted and closed with 1011, as a database outage closes it, and the client
reconnects later (tasks/consumers.py, `_TaskWatcher.__call__`). channels_redis subscribes the
socket's own channel before any handler runs, and raised there: Daphne answered the handshake
with HTTP 500 and logged a traceback."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from tests.factories import submit_task
from tests.processes import free_port
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, own_channel_layer, seeded, token_for
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unreachable_redis_layer(settings):
    """The Redis layer as settings build it, pointed at a port where no Redis listens."""
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "tasks.redis_layer.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{free_port()}", **settings.REDIS_LAYER_OPTIONS}]},
    }}


def closed_with_1011() -> float:
    return REGISTRY.get_sample_value("pressroom_websocket_closed_by_server_total", {"code": "1011"}) or 0.0


@pytest.mark.parametrize("path", ["/ws/tasks/{id}", "/ws/tasks"])
def test_a_socket_opened_while_the_layer_is_away_is_accepted_and_closed_with_1011(
    editor, unreachable_redis_layer, caplog, path
):
    from asgiref.sync import async_to_sync

    task = submit_task(created_by=editor)
    closes_before = closed_with_1011()
    caplog.set_level(logging.WARNING)

    async def scenario():
        ws = communicator(path.format(id=task.pk), token=token_for(editor))
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected, "the handshake was refused"
        assert await close_code(ws) == 1011
        await ws.wait(timeout=TIMEOUT)

    async_to_sync(scenario)()
    assert closed_with_1011() == closes_before + 1
    lines = [r for r in caplog.records if r.name == "tasks.consumers"]
    assert len(lines) == 1 and "channel layer could not be reached" in lines[0].getMessage(), lines
    assert lines[0].exc_info is None
