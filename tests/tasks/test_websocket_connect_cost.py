"""What a task WebSocket costs the server (issue 13: 1,000 clients connected in seconds, events
pushed to them in milliseconds): the database work of a handshake and of the access re-checks,
and the encoding of a live event for its many watchers (tasks/consumers.py).

The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from channels import consumer as channels_consumer
from channels.generic import websocket as channels_websocket
from django.db import connection, connections
from django.db.backends.signals import connection_created

from tasks import consumers
from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, arecord, events, next_frame, opened, own_channel_layer, run, seeded
)

pytestmark = pytest.mark.django_db(transaction=True)

# The user (token or session) and the task; for someone else's task also the user's permissions
# (has_perm: the user's own, then their groups'). Nothing twice.
TASK_HANDSHAKE_STATEMENTS = {"own task": 2, "another's task": 4}


@pytest.fixture
def new_connections():
    """The database connections opened from now on, counted."""
    opened_ = []

    def count(sender, connection, **kwargs):
        opened_.append(connection.alias)

    connection_created.connect(count)
    yield opened_
    connection_created.disconnect(count)


class Statements(list):
    """The SQL run on a connection while counting (an execute wrapper: no database access of its own)."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


@pytest.fixture
def statements():
    return Statements()


@pytest.fixture
def reads(monkeypatch, statements):
    """The trips to the sockets' read threads, by the function they ran; their SQL in `statements`."""
    trips = []
    original = consumers._SocketDatabaseRead.thread_handler

    def counted(self, loop, *args, **kwargs):
        trips.append(self.func.__name__)
        with connections["default"].execute_wrapper(statements):  # this read's thread's connection
            return original(self, loop, *args, **kwargs)

    monkeypatch.setattr(consumers._SocketDatabaseRead, "thread_handler", counted)
    return trips


@pytest.mark.parametrize("who, whose", [("editor", "own task"), ("reviewer", "another's task")])
def test_a_task_handshake_is_one_trip_to_the_database_with_a_bounded_number_of_statements(
    request, who, whose, editor, reads, statements
):
    user = request.getfixturevalue(who)
    task = submit_task(created_by=editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", user)
        assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()
        assert reads == ["_open_task"]
        assert len(statements) <= TASK_HANDSHAKE_STATEMENTS[whose], statements

    run(scenario)


def test_the_list_handshake_is_one_trip_to_the_database(editor, reads):
    submit_task(created_by=editor)

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        assert len((await next_frame(ws))["tasks"]) == 1
        await ws.disconnect()
        assert reads == ["_open_all_tasks"]

    run(scenario)


def test_handshakes_and_re_checks_reuse_the_read_threads_connections(settings, editor, new_connections, reads):
    """With DATABASE_CONN_MAX_AGE=0 (the default), channels closes the connection after each read;
    the sockets' read threads keep theirs instead of opening one per handshake and per re-check."""
    settings.PRESSROOM_WS_RECHECK_SECONDS = 0.05
    assert connection.settings_dict["CONN_MAX_AGE"] == 0
    task = submit_task(created_by=editor)
    new_connections.clear()  # the task's own (its insert, the queue's enqueue)

    async def scenario():
        sockets = []
        for _ in range(5):
            ws = await opened(f"/ws/tasks/{task.pk}", editor)
            assert (await next_frame(ws))["type"] == "snapshot"
            sockets.append(ws)
        await asyncio.sleep(0.3)  # a few re-checks of each
        for ws in sockets:
            await ws.disconnect()
        assert reads.count("_open_task") == 5 and reads.count("_access_now") >= 10, reads

    run(scenario)
    assert len(new_connections) <= consumers.read_threads().size, new_connections


def test_a_read_thread_drops_a_broken_connection_and_the_next_read_opens_a_new_one():
    """As after a database restart: every read thread's connection is cut once; each first read
    fails, and the next reads work (the broken connection is not kept)."""
    threads = consumers.read_threads().size
    together = threading.Barrier(threads)

    def on_every_thread(sql):
        def read():
            together.wait(TIMEOUT)  # so that each thread runs exactly one of these reads
            with connection.cursor() as cursor:
                cursor.execute(sql)
            return connection.connection is not None
        return read

    async def scenario():
        await asyncio.gather(*[consumers.socket_read(on_every_thread("SELECT 1"))() for _ in range(threads)])
        cut = await asyncio.gather(*[
            consumers.socket_read(on_every_thread("SELECT pg_terminate_backend(pg_backend_pid())"))()
            for _ in range(threads)
        ], return_exceptions=True)
        assert all(isinstance(outcome, Exception) for outcome in cut), cut
        again = await asyncio.gather(*[consumers.socket_read(on_every_thread("SELECT 1"))() for _ in range(threads)])
        assert again == [True] * threads

    run(scenario)


def test_a_live_event_is_encoded_once_for_all_its_watchers(monkeypatch, editor, reviewer):
    encoded = []
    original = consumers.client_event

    def counted(payload):
        encoded.append(payload["sequence"])
        return original(payload)

    monkeypatch.setattr(consumers, "client_event", counted)
    task = submit_task(created_by=editor)

    async def scenario():
        watchers = [await opened(f"/ws/tasks/{task.pk}", user) for user in (editor, editor, reviewer)]
        for ws in watchers:
            assert (await next_frame(ws))["type"] == "snapshot"
        event = await arecord(task, "for everyone")
        received = [await events(ws, 1) for ws in watchers]
        assert received == [received[0]] * 3 and received[0][0]["message"] == "for everyone"
        assert encoded == [event.sequence]
        for ws in watchers:
            await ws.disconnect()

    run(scenario)


def test_live_events_make_no_trip_to_the_database_thread(monkeypatch, editor):
    """channels' own dispatch sends every message through the sync thread first (its
    `close_old_connections`): a trip per event per watcher. The consumers skip it."""
    trips = []

    async def counted():
        trips.append("close_old_connections")

    monkeypatch.setattr(channels_consumer, "aclose_old_connections", counted)
    monkeypatch.setattr(channels_websocket, "aclose_old_connections", counted)
    task = submit_task(created_by=editor)

    async def scenario():
        watchers = [await opened(f"/ws/tasks/{task.pk}", editor) for _ in range(3)]
        for ws in watchers:
            assert (await next_frame(ws))["type"] == "snapshot"
        for number in range(2):
            await arecord(task, f"event {number}")
        for ws in watchers:
            assert len(await events(ws, 2)) == 2
            await ws.disconnect()

    run(scenario)
    assert trips == []


def test_sockets_opened_together_re_check_at_spread_times_within_one_period(settings, monkeypatch, editor):
    """A crowd that connects at once (a restart's reconnections, the benchmark) would otherwise
    re-check at once, one period later and every period after: a burst of reads that delays the
    live events of every socket of the process."""
    settings.PRESSROOM_WS_RECHECK_SECONDS = 1
    first_checks: dict[bytes, float] = {}  # the socket's query string → its first re-check
    original = consumers._access_now

    async def timed(scope, *args):
        first_checks.setdefault(scope["query_string"].split(b"&")[0], time.monotonic())
        return await original(scope, *args)

    monkeypatch.setattr(consumers, "_access_now", timed)
    task = submit_task(created_by=editor)

    async def scenario():
        sockets, opened_at = [], {}
        for number in range(10):
            ws = await opened(f"/ws/tasks/{task.pk}?n={number}", editor)
            assert (await next_frame(ws))["type"] == "snapshot"
            opened_at[f"n={number}".encode()] = time.monotonic()  # just after its watchdog started
            sockets.append(ws)
        await asyncio.sleep(1.3)
        for ws in sockets:
            await ws.disconnect()
        assert first_checks.keys() == opened_at.keys()
        delays = sorted(first_checks[key] - opened_at[key] for key in opened_at)
        assert delays[-1] <= 1.1, delays  # each within its first period
        assert delays[-1] - delays[0] > 0.3, delays  # and not all one period after opening

    run(scenario)
