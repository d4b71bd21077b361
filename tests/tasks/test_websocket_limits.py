"""How many task WebSockets one user may hold open on a process (tasks/consumers.py, OpenSockets).

The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import pytest

from tasks import consumers
from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, next_frame, opened, own_channel_layer, run, seeded, token_for
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_holding_the_bound_of_sockets_is_refused_one_more_with_4429_until_one_closes(
        editor, reviewer, settings):
    """Before the bound, one account opened 500 sockets in a few seconds, each re-reading the user
    every PRESSROOM_WS_RECHECK_SECONDS, and nothing stopped it short of the file descriptors."""
    settings.PRESSROOM_WS_MAX_SOCKETS_PER_USER = 3
    task = submit_task(created_by=editor)

    async def scenario():
        held = [await opened(path, editor) for path in ("/ws/tasks", f"/ws/tasks/{task.pk}", "/ws/tasks")]
        for ws in held:
            assert (await next_frame(ws))["type"] == "snapshot"
        for path in ("/ws/tasks", f"/ws/tasks/{task.pk}"):
            extra = communicator(path, token=token_for(editor))
            assert await extra.connect(timeout=TIMEOUT) == (True, None)
            assert await close_code(extra) == 4429
            await extra.disconnect()
        assert consumers.open_sockets.by_user[editor.pk] == 3  # the refused ones are not counted

        someone_else = await opened("/ws/tasks", reviewer)  # the bound is per user
        assert (await next_frame(someone_else))["type"] == "snapshot"

        await held.pop().disconnect()
        again = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(again))["type"] == "snapshot"
        for ws in [*held, again, someone_else]:
            await ws.disconnect()

    run(scenario)
    assert editor.pk not in consumers.open_sockets.by_user
    assert reviewer.pk not in consumers.open_sockets.by_user


def test_sockets_refused_for_other_reasons_are_not_counted(editor, other_editor, settings):
    settings.PRESSROOM_WS_MAX_SOCKETS_PER_USER = 1
    theirs = submit_task(created_by=other_editor)

    async def scenario():
        for _ in range(3):  # another editor's task: 4404, and no place taken
            ws = communicator(f"/ws/tasks/{theirs.pk}", token=token_for(editor))
            assert await ws.connect(timeout=TIMEOUT) == (True, None)
            assert await close_code(ws) == 4404
            await ws.disconnect()
        ws = await opened("/ws/tasks", editor)
        assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)
    assert editor.pk not in consumers.open_sockets.by_user
