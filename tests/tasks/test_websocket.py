"""The task WebSockets in-process: channels' WebsocketCommunicator against config.asgi.application.

Tests are plain functions whose async part runs through asgiref's `async_to_sync` on an event loop
of its own (`run`), with a channel layer instance of its own, as configured: PostgreSQL without
REDIS_URL, Redis with it. Data is committed (transactional database) because the consumers and
the broadcasts read and write through their own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from config.asgi import application
from tasks import consumers
from tasks import events as task_events
from tasks.events import emit
from tasks.models import EventKind, GenerationTask, TaskEvent
from tests.factories import make_task, submit_task
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5

postgres_layer_only = pytest.mark.skipif(
    "Postgres" not in django_settings.CHANNEL_LAYERS["default"]["BACKEND"], reason="about the PostgreSQL layer"
)


@pytest.fixture(autouse=True)
def seeded():
    ensure_seed_data()


@pytest.fixture(autouse=True)
def own_channel_layer(settings):
    """A fresh layer instance for this test's event loop: channels rebuilds its layers when the
    setting changes (and again when the test ends)."""
    settings.CHANNEL_LAYERS = {**settings.CHANNEL_LAYERS}


def run(scenario) -> None:
    """Run a test's async part on a new event loop, then close the channel layer it used there
    (a layer's connections belong to the loop that opened them)."""

    async def main():
        try:
            await scenario()
        finally:
            await get_channel_layer().close_pools()

    async_to_sync(main)()


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    value = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={value}".encode()


def communicator(path: str, *, token: str | None = None, headers=(), subprotocols=None) -> WebsocketCommunicator:
    if token is not None:
        path += ("&" if "?" in path else "?") + f"token={token}"
    return WebsocketCommunicator(application, path, headers=list(headers), subprotocols=subprotocols)


async def opened(path: str, user, **kwargs) -> WebsocketCommunicator:
    """An accepted connection, authenticated with `user`'s access token."""
    ws = communicator(path, token=token_for(user), **kwargs)
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert connected
    return ws


async def close_code(ws: WebsocketCommunicator) -> int:
    message = await ws.receive_output(timeout=TIMEOUT)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def next_frame(ws: WebsocketCommunicator) -> dict:
    return json.loads(await ws.receive_from(timeout=TIMEOUT))


async def events(ws: WebsocketCommunicator, count: int) -> list[dict]:
    frames = [await next_frame(ws) for _ in range(count)]
    assert {frame["type"] for frame in frames} == {"event"}, frames
    return [frame["event"] for frame in frames]


def record(task, message: str = "") -> TaskEvent:
    """Emit a log event of `task` as the services do (committed, then broadcast)."""
    return emit(GenerationTask.objects.get(pk=task.pk), EventKind.LOG, message=message)


arecord = database_sync_to_async(record)


# --- Authentication and access ------------------------------------------------------------------

def test_a_connection_without_credentials_is_closed_with_4401(editor):
    task = submit_task(created_by=editor)

    async def scenario():
        for path in ("/ws/tasks", f"/ws/tasks/{task.pk}"):
            ws = communicator(path)
            assert await ws.connect(timeout=TIMEOUT) == (True, None)
            assert await close_code(ws) == 4401
            await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("kind", ["garbage", "empty", "expired", "refresh", "bearer-garbage"])
def test_an_invalid_token_is_closed_with_4401_even_next_to_a_valid_session(editor, kind):
    task = submit_task(created_by=editor)
    expired = AccessToken.for_user(editor)
    expired.set_exp(lifetime=timedelta(seconds=-1))
    token, subprotocols = {
        "garbage": ("not.a.jwt", None),
        "empty": ("", None),
        "expired": (str(expired), None),
        "refresh": (str(RefreshToken.for_user(editor)), None),
        "bearer-garbage": (None, ["bearer", "not.a.jwt"]),
    }[kind]
    cookie = session_cookie(editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=token, headers=[cookie], subprotocols=subprotocols)
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


def test_an_access_token_in_the_query_string_authenticates(editor):
    task = submit_task(created_by=editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)


def test_the_bearer_subprotocol_authenticates_and_is_the_accepted_subprotocol(editor):
    task = submit_task(created_by=editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", subprotocols=["bearer", token_for(editor)])
        assert await ws.connect(timeout=TIMEOUT) == (True, "bearer")
        assert (await next_frame(ws))["task"]["id"] == str(task.pk)
        await ws.disconnect()

    run(scenario)


def test_the_session_cookie_authenticates_without_a_token(editor):
    task = submit_task(created_by=editor)
    cookie = session_cookie(editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", headers=[cookie])
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        assert (await next_frame(ws))["task"]["id"] == str(task.pk)
        await ws.disconnect()

    run(scenario)


def test_an_editor_watching_another_editors_task_is_closed_with_4403(editor, other_editor, reviewer):
    task = submit_task(created_by=other_editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        assert await close_code(ws) == 4403
        await ws.disconnect()
        ws = await opened(f"/ws/tasks/{task.pk}", reviewer)  # reviewers see every task
        assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_or_malformed_task_id_is_closed_with_4404(editor, task_id):
    async def scenario():
        ws = await opened(f"/ws/tasks/{task_id}", editor)
        assert await close_code(ws) == 4404
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("after", ["-1", "x", "", "1.5"])
def test_a_malformed_after_parameter_is_closed_with_4400(editor, after):
    task = submit_task(created_by=editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}?after={after}", editor)
        assert await close_code(ws) == 4400
        await ws.disconnect()

    run(scenario)


# --- Origin -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "origin, allowed",
    [
        (None, True),  # not a browser: a script with a token
        ("http://127.0.0.1:8000", True),  # ALLOWED_HOSTS, port ignored
        ("https://localhost", True),
        ("http://[::1]:8000", True),
        ("https://press.example.com", True),  # CSRF_TRUSTED_ORIGINS
        ("https://eu.trusted.example", True),  # CSRF_TRUSTED_ORIGINS wildcard
        ("http://press.example.com", False),  # trusted only over https
        ("https://evil.example", False),
        ("https://127.0.0.1.evil.example", False),
        ("null", False),
    ],
)
def test_the_handshake_is_refused_for_an_origin_of_another_site(settings, editor, origin, allowed):
    settings.CSRF_TRUSTED_ORIGINS = ["https://press.example.com", "https://*.trusted.example"]
    task = submit_task(created_by=editor)
    headers = [(b"origin", origin.encode())] if origin else []

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=token_for(editor), headers=headers)
        connected, detail = await ws.connect(timeout=TIMEOUT)
        assert connected is allowed
        if connected:
            assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)


# --- One task -----------------------------------------------------------------------------------

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
                "error": "slow model", "cancel_requested": True,
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


@postgres_layer_only
def test_leaving_removes_the_connection_from_its_group(editor):
    task = submit_task(created_by=editor)

    def members() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM channels_postgres_groupchannel")
            return cursor.fetchone()[0]

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        assert await database_sync_to_async(members)() == 1
        await ws.disconnect()
        assert await database_sync_to_async(members)() == 0

    run(scenario)


@postgres_layer_only
def test_events_emitted_with_no_event_loop_keep_arriving_after_the_layer_recycles_connections(editor, settings):
    """As in a django-q2 worker: sync code with no event loop, so each broadcast runs on a new one.
    A layer instance shared across those loops stalls once its first connections expire."""
    layer = settings.CHANNEL_LAYERS["default"]
    short_lived = {**layer["CONFIG"], "PSYCOPG_OPTIONS": {"max_lifetime": 0.5}}
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": short_lived}}
    task = submit_task(created_by=editor)

    def worker():
        try:
            for n in range(3):
                record(task, f"from a worker {n}")
                time.sleep(1)
        finally:
            connection.close()

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        thread = threading.Thread(target=worker)
        thread.start()
        try:
            received = await events(ws, 3)
        finally:
            await asyncio.to_thread(thread.join, 30)
        assert [e["message"] for e in received] == [f"from a worker {n}" for n in range(3)]
        await ws.disconnect()

    run(scenario)


@postgres_layer_only
def test_watching_holds_no_database_locks(editor):
    task = submit_task(created_by=editor)

    def advisory_locks() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            return cursor.fetchone()[0]

    async def scenario():
        sockets = [await opened(f"/ws/tasks/{task.pk}", editor) for _ in range(3)]
        for ws in sockets:
            await next_frame(ws)
        await arecord(task, "delivered")
        for ws in sockets:
            assert [e["message"] for e in await events(ws, 1)] == ["delivered"]
        assert await database_sync_to_async(advisory_locks)() == 0
        for ws in sockets:
            await ws.disconnect()

    run(scenario)


@postgres_layer_only
def test_a_server_that_starts_listening_leaves_other_servers_waiting_messages_alone():
    def waiting(channel: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM channels_postgres_message WHERE channel = %s", [channel])
            return cursor.fetchone()[0]

    async def scenario():
        first, second = channel_layers.make_backend("default"), channel_layers.make_backend("default")
        try:
            theirs = await first.new_channel()
            await first.send(theirs, {"type": "task.event", "event": "x" * 10_000})  # too large for a NOTIFY
            mine = await second.new_channel()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(second.receive(mine), 1)  # its listener starts and reads what waits
            assert await database_sync_to_async(waiting)(theirs) == 1
            assert (await asyncio.wait_for(first.receive(theirs), TIMEOUT))["event"] == "x" * 10_000
        finally:
            await first.close_pools()
            await second.close_pools()

    run(scenario)


@postgres_layer_only
def test_the_postgres_layer_listens_again_after_losing_its_connection(editor):
    task = submit_task(created_by=editor)

    def drop_listen_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query LIKE 'LISTEN channels_postgres_messages%%'"
            )
            return cursor.fetchone()[0]

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        assert await database_sync_to_async(drop_listen_connections)() == 1
        await arecord(task, "sent while it reconnects")
        [event] = await events(ws, 1)
        assert event["message"] == "sent while it reconnects"
        await arecord(task, "sent after")
        assert [e["message"] for e in await events(ws, 1)] == ["sent after"]
        await ws.disconnect()

    run(scenario)


# --- Every task ---------------------------------------------------------------------------------

def test_the_all_tasks_route_sends_editors_their_own_events_and_reviewers_everyones(editor, other_editor, reviewer):
    mine, theirs = submit_task(created_by=editor), submit_task(created_by=other_editor)

    async def scenario():
        as_editor, as_reviewer = await opened("/ws/tasks", editor), await opened("/ws/tasks", reviewer)
        assert {t["id"] for t in (await next_frame(as_editor))["tasks"]} == {str(mine.pk)}
        assert {t["id"] for t in (await next_frame(as_reviewer))["tasks"]} == {str(mine.pk), str(theirs.pk)}
        await arecord(theirs, "theirs")
        await arecord(mine, "mine")
        [own] = await events(as_editor, 1)
        assert (own["task"], own["message"]) == (str(mine.pk), "mine")
        assert "owner" not in own
        assert await as_editor.receive_nothing(0.5)
        seen = await events(as_reviewer, 2)
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
            "error", "cancel_requested",
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
        assert [e["sequence"] for e in await events(ws, 1)] == [2]
        assert await ws.receive_nothing(0.3)
        await ws.disconnect()

    run(scenario)


# --- Client frames ------------------------------------------------------------------------------

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
