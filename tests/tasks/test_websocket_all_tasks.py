"""The every-task WebSocket (what each role receives) and the client frames both routes take.

The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import asyncio

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tasks import consumers
from tasks import events as task_events
from tasks.models import GenerationTask, TaskEvent
from tests.factories import make_task, submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    arecord, events_of, next_frame, nothing_more_of, opened, own_channel_layer, run, seeded
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_all_tasks_route_sends_editors_their_own_events_and_reviewers_everyones(editor, other_editor, reviewer):
    mine, theirs = submit_task(created_by=editor), submit_task(created_by=other_editor)

    async def scenario():
        as_editor, as_reviewer = await opened("/ws/tasks", editor), await opened("/ws/tasks", reviewer)
        assert {t["id"] for t in (await next_frame(as_editor))["tasks"]} == {str(mine.pk)}
        assert {t["id"] for t in (await next_frame(as_reviewer))["tasks"]} == {str(mine.pk), str(theirs.pk)}
        await arecord(theirs, "theirs")
        await arecord(mine, "mine")
        [own] = await events_of(as_editor, [mine, theirs], 1)
        assert (own["task"], own["message"]) == (str(mine.pk), "mine")
        assert "owner" not in own
        assert await nothing_more_of(as_editor, [mine, theirs], 0.5)
        seen = await events_of(as_reviewer, [mine, theirs], 2)
        assert [(e["task"], e["message"]) for e in seen] == [(str(theirs.pk), "theirs"), (str(mine.pk), "mine")]
        await as_editor.disconnect()
        await as_reviewer.disconnect()

    run(scenario)


def test_the_all_tasks_snapshot_lists_active_tasks_then_the_most_recently_updated_others(editor, monkeypatch):
    monkeypatch.setattr(consumers, "SNAPSHOT_MAX_TASKS", 4)
    monkeypatch.setattr(consumers, "SNAPSHOT_RECENT_FINISHED", 2)
    done = [make_task(created_by=editor, status="completed", finished_at=timezone.now()) for _ in range(3)]
    active = [make_task(created_by=editor, status=status) for status in ("queued", "running")]
    GenerationTask.objects.filter(pk=done[0].pk).update(updated_at=timezone.now() + timedelta(minutes=1))

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        snapshot = await next_frame(ws)
        assert [t["id"] for t in snapshot["tasks"]] == [str(t.pk) for t in (active[1], active[0], done[0], done[2])]
        assert set(snapshot["tasks"][0]) == {
            "id", "title", "topic", "status", "phase", "progress", "approval_status", "last_event_sequence",
            "error", "cancel_requested", "created_at",
        }
        await ws.disconnect()
        for _ in range(3):
            await database_sync_to_async(make_task)(created_by=editor, status="queued")
        ws = await opened("/ws/tasks", editor)
        statuses = [t["status"] for t in (await next_frame(ws))["tasks"]]
        assert statuses == ["queued", "queued", "queued", "running"], "at most SNAPSHOT_MAX_TASKS, active first"
        await ws.disconnect()

    run(scenario)


def test_the_all_tasks_route_drops_events_its_snapshot_already_covers(reviewer, monkeypatch):
    task = submit_task(created_by=reviewer)
    stale = task_events.event_payload(TaskEvent.objects.get(task=task, sequence=1), owner_id=reviewer.pk)

    async def scenario():
        ws = await opened("/ws/tasks", reviewer)
        assert (await next_frame(ws))["tasks"][0]["last_event_sequence"] == 1
        await database_sync_to_async(task_events.broadcast)(stale)  # a late copy of event 1
        await arecord(task, "new")
        assert [e["sequence"] for e in await events_of(ws, [task], 1)] == [2]
        assert await nothing_more_of(ws, [task], 0.3)
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("path", ["/ws/tasks", "/ws/tasks/{id}"])
def test_malformed_frames_get_error_frames_and_the_socket_stays_usable(editor, path):
    task = submit_task(created_by=editor)
    bad = [
        ({"text_data": "not json"}, "bad_frame"),
        ({"text_data": "[1, 2]"}, "bad_frame"),
        ({"text_data": "[" * 2000 + "]" * 2000}, "bad_frame"),
        ({"text_data": '"ping"'}, "bad_frame"),
        ({"text_data": json.dumps({"type": "subscribe"})}, "unknown_type"),
        ({"text_data": json.dumps({"type": ["ping"]})}, "unknown_type"),
        ({"text_data": json.dumps({"no": "type"})}, "unknown_type"),
        ({"bytes_data": b'{"type": "ping"}'}, "bad_frame"),
        ({"text_data": json.dumps({"type": "ping", "pad": "x" * 5 * 1024})}, "bad_frame"),
        ({"text_data": '{"type": "\ud800"}'}, "unknown_type"),  # a lone surrogate: UnicodeEncodeError before
    ]
    if path == "/ws/tasks":
        bad.append(({"text_data": json.dumps({"type": "catch_up", "after": 0})}, "unknown_type"))

    async def scenario():
        ws = await opened(path.format(id=task.pk), editor)
        await next_frame(ws)
        for frame, code in bad:
            await ws.send_to(**frame)
            reply = await next_frame(ws)
            assert reply["type"] == "error" and reply["error"]["code"] == code, (frame, reply)
            assert reply["error"]["message"]
        await ws.send_json_to({"type": "ping"})
        assert await next_frame(ws) == {"type": "pong"}
        await ws.disconnect()

    run(scenario)


def test_a_list_socket_remembers_a_bounded_number_of_tasks_and_sends_every_new_event(monkeypatch):
    """Before: a `/ws/tasks` socket remembered the last sequence of every task it ever heard of, for
    as long as it stayed open (~125 bytes a task: 24,000 tasks, ~3 MB a socket)."""
    from collections import OrderedDict

    from asgiref.sync import async_to_sync

    from tasks.visibility import TaskVisibility

    monkeypatch.setattr(consumers, "LAST_SENT_TASKS", 100)
    socket = consumers.AllTasksConsumer()
    socket.user, socket.visibility, socket.last_sent = object(), TaskVisibility(sees_all=True), OrderedDict()
    socket.sending = asyncio.Lock()
    sent = []

    async def send_event(payload):
        sent.append((payload["task"], payload["sequence"]))

    socket.send_event = send_event

    async def hear(task_id: str, sequence: int) -> None:
        await socket.task_event({"event": {"task": task_id, "sequence": sequence, "owner": 1}})

    async def scenario():
        for number in range(1000):
            await hear(f"task-{number}", 1)
        await hear("task-999", 1)  # a repeat of what the socket sent last: still known, not sent again
        await hear("task-0", 2)  # forgotten long ago: its next event is sent all the same

    async_to_sync(scenario)()
    assert len(socket.last_sent) == 100
    assert sent == [(f"task-{number}", 1) for number in range(1000)] + [("task-0", 2)]
