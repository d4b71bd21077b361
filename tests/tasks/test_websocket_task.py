"""The single-task WebSocket: its snapshot, live events only after commit, catching up without gaps or duplicates.

The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from tasks import consumers
from tasks import events as task_events
from tasks.models import GenerationTask, TaskEvent
from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, arecord, events, next_frame, opened, own_channel_layer, record, run, seeded
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_snapshot_describes_the_task_as_it_is(editor):
    task = submit_task(created_by=editor, topic="Tidal energy", title="Tides")
    GenerationTask.objects.filter(pk=task.pk).update(
        status="running", phase="draft", progress=40, cancel_requested_at=timezone.now(), error="slow model"
    )
    record(task, "one more")

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        assert await next_frame(ws) == {
            "type": "snapshot",
            "task": {
                "id": str(task.pk), "title": "Tides", "topic": "Tidal energy", "status": "running",
                "phase": "draft", "progress": 40, "approval_status": "pending", "last_event_sequence": 2,
                "error": "slow model", "cancel_requested": True, "created_at": task.created_at.isoformat(),
            },
        }
        assert await ws.receive_nothing(0.3), "no history without ?after"
        await ws.disconnect()

    run(scenario)


def test_a_live_event_is_pushed_only_after_its_transaction_commits(editor):
    task = submit_task(created_by=editor)
    written, commit = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                record(task, "inside a transaction")
                written.set()
                commit.wait(TIMEOUT)
        finally:
            connection.close()

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(ws))["task"]["last_event_sequence"] == 1
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            assert await asyncio.to_thread(written.wait, TIMEOUT)
            assert await ws.receive_nothing(0.5), "nothing is sent before the commit"
        finally:
            commit.set()
            await asyncio.to_thread(thread.join, TIMEOUT)
        [event] = await events(ws, 1)
        stored = await TaskEvent.objects.aget(task=task, sequence=2)
        assert event == {
            "task": str(task.pk), "sequence": 2, "kind": "log", "status": "queued", "phase": "",
            "progress": 0, "message": "inside a transaction", "data": {}, "time": stored.created_at.isoformat(),
        }
        await ws.disconnect()

    run(scenario)


def test_a_rolled_back_event_is_never_pushed(editor):
    task = submit_task(created_by=editor)

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            record(task, "rolled back")
            raise RuntimeError

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        await database_sync_to_async(rolled_back)()
        await arecord(task, "kept")
        [event] = await events(ws, 1)
        assert (event["sequence"], event["message"]) == (2, "kept")
        await ws.disconnect()

    run(scenario)


def test_catching_up_with_after_sends_the_missed_events_then_live_ones_once_each(editor):
    task = submit_task(created_by=editor)  # event 1
    for n in range(3):
        record(task, f"before connecting {n}")  # events 2-4

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}?after=2", editor)
        assert (await next_frame(ws))["task"]["last_event_sequence"] == 4
        for n in range(2):
            await arecord(task, f"live {n}")  # events 5, 6
        received = await events(ws, 4)
        assert [e["sequence"] for e in received] == [3, 4, 5, 6]
        assert [e["message"] for e in received] == ["before connecting 1", "before connecting 2", "live 0", "live 1"]
        assert await ws.receive_nothing(0.5)
        await ws.disconnect()

    run(scenario)


def test_events_committed_while_the_catch_up_is_read_arrive_once_and_in_order(editor, monkeypatch):
    task = submit_task(created_by=editor)
    record(task, "missed")
    read_events = consumers._events_between
    raced = []

    async def racing_read(task_id, after, before):
        if not raced:
            await arecord(task, "committed before the read")  # in the read and broadcast: once
        stored = await read_events(task_id, after, before)
        if not raced:
            raced.append(True)
            await arecord(task, "committed after the read")  # only broadcast
        return stored

    monkeypatch.setattr(consumers, "_events_between", racing_read)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}?after=0", editor)
        await next_frame(ws)
        received = await events(ws, 4)
        assert [e["sequence"] for e in received] == [1, 2, 3, 4]
        assert received[-1]["message"] == "committed after the read"
        assert await ws.receive_nothing(0.5)
        await ws.disconnect()

    run(scenario)


def test_a_live_event_after_a_lost_broadcast_brings_the_missing_events_first(editor, monkeypatch):
    task = submit_task(created_by=editor)
    send = task_events.broadcast

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        monkeypatch.setattr(task_events, "broadcast", lambda payload: None)
        await arecord(task, "lost 1")
        await arecord(task, "lost 2")
        monkeypatch.setattr(task_events, "broadcast", send)
        await arecord(task, "delivered")
        received = await events(ws, 3)
        assert [(e["sequence"], e["message"]) for e in received] == [(2, "lost 1"), (3, "lost 2"), (4, "delivered")]
        await ws.disconnect()

    run(scenario)


def test_a_catch_up_frame_resends_stored_events_and_live_ones_continue_without_duplicates(editor):
    task = submit_task(created_by=editor)
    record(task, "two")

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        await arecord(task, "three")
        assert [e["sequence"] for e in await events(ws, 1)] == [3]
        await ws.send_json_to({"type": "catch_up", "after": 1})
        assert [e["sequence"] for e in await events(ws, 2)] == [2, 3]
        await arecord(task, "four")
        assert [e["sequence"] for e in await events(ws, 1)] == [4]
        assert await ws.receive_nothing(0.3)
        await ws.send_json_to({"type": "catch_up", "after": -1})
        assert (await next_frame(ws))["error"]["code"] == "bad_frame"
        await ws.disconnect()

    run(scenario)


def test_catch_ups_past_the_limit_get_an_error_frame_and_the_socket_stays_open(editor):
    """Each catch-up re-reads access and the task's events: repeated, 30-byte frames brought back
    thousands of event frames. Past CATCH_UP_LIMIT in the window the frame is refused."""
    from tasks.consumers import CATCH_UP_LIMIT

    task = submit_task(created_by=editor)
    record(task, "two")

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        for _ in range(CATCH_UP_LIMIT):
            await ws.send_json_to({"type": "catch_up", "after": 0})
            assert [e["sequence"] for e in await events(ws, 2)] == [1, 2]
        await ws.send_json_to({"type": "catch_up", "after": 0})
        refused = await next_frame(ws)
        assert refused["type"] == "error" and refused["error"]["code"] == "too_many_catch_ups"
        assert "At most 10 catch-ups in 60 seconds" in refused["error"]["message"]
        assert await ws.receive_nothing(0.3)
        await ws.send_json_to({"type": "ping"})
        assert (await next_frame(ws))["type"] == "pong"
        await arecord(task, "three")
        assert [e["sequence"] for e in await events(ws, 1)] == [3]
        await ws.disconnect()

    run(scenario)
