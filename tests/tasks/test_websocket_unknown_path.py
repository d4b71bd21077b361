"""A WebSocket path no route claims is closed with 4404, without an error in the log."""

from __future__ import annotations

import logging

import pytest

from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, own_channel_layer, run, seeded, token_for
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/ws/nope", "/ws/tasks/x/y", "/anything", "/", "/ws/tasks/"])
def test_an_unknown_websocket_path_is_closed_with_4404_and_logs_no_error(editor, path, caplog):
    async def scenario():
        ws = communicator(path, token=token_for(editor))
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        assert await close_code(ws) == 4404
        await ws.disconnect()

    with caplog.at_level(logging.WARNING):
        run(scenario)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
