"""The PostgreSQL channel layer under the task WebSockets: groups, recycled and lost connections, no locks.

The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.db import connection

from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer, postgres_layer: fixtures)
    TIMEOUT, arecord, events, next_frame, opened, own_channel_layer, postgres_layer, postgres_layer_only, record,
    run, seeded
)

pytestmark = pytest.mark.django_db(transaction=True)


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


@postgres_layer_only
def test_a_group_message_is_stored_once_per_receiving_process_and_reaches_every_member():
    """channels_postgres stores one row (and NOTIFY) per member channel; here one per process, as
    channels_redis does, and that process hands it to each of its members."""

    def stored() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT channel FROM channels_postgres_message ORDER BY id")
            return [row[0] for row in cursor.fetchall()]

    async def scenario():
        here, there = channel_layers.make_backend("default"), channel_layers.make_backend("default")
        try:
            mine = [await here.new_channel() for _ in range(3)]
            theirs = await there.new_channel()
            for channel in mine + [theirs]:
                await here.group_add("task.watchers", channel)
            receiving = [asyncio.ensure_future(here.receive(channel)) for channel in mine]
            receiving.append(asyncio.ensure_future(there.receive(theirs)))
            await asyncio.sleep(0.5)  # both listeners are up (nothing waits in the table yet)
            await here.group_send("task.watchers", {"type": "task.event", "event": {"sequence": 7}})
            received = await asyncio.wait_for(asyncio.gather(*receiving), TIMEOUT)
            assert received == [{"type": "task.event", "event": {"sequence": 7}}] * 4
            assert sorted(await database_sync_to_async(stored)()) == sorted(
                {here.non_local_name(mine[0]), there.non_local_name(theirs)}
            )
        finally:
            await here.close_pools()
            await there.close_pools()

    run(scenario)


@postgres_layer_only
def test_a_group_message_too_large_for_a_notify_reaches_every_member_of_the_process():
    async def scenario():
        layer = channel_layers.make_backend("default")
        try:
            members = [await layer.new_channel() for _ in range(2)]
            for channel in members:
                await layer.group_add("task.large", channel)
            receiving = [asyncio.ensure_future(layer.receive(channel)) for channel in members]
            await asyncio.sleep(0.5)
            await layer.group_send("task.large", {"type": "task.event", "event": "x" * 10_000})
            received = await asyncio.wait_for(asyncio.gather(*receiving), TIMEOUT)
            assert [message["event"] for message in received] == ["x" * 10_000] * 2
        finally:
            await layer.close_pools()

    run(scenario)


def _rows(table: str, where: str = "TRUE") -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}")
        return cursor.fetchone()[0]


def _insert(table: str, columns: str, values: list[tuple]) -> None:
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(values[0]))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)


arows = database_sync_to_async(_rows)


@postgres_layer_only
def test_leaving_a_group_starts_no_task_that_outlives_it():
    """Before: every group_discard started a task that slept 10–20 minutes before a DELETE: 4,000
    sockets opened and closed on one Daphne left 4,000 of them (+26 MB) and as many DELETEs to come."""

    async def scenario():
        layer = channel_layers["default"]

        async def join_and_leave(times: int) -> None:
            for _ in range(times):
                channel = await layer.new_channel()
                await layer.group_add("task.left", channel)
                await layer.group_discard("task.left", channel)

        await join_and_leave(1)  # the pool's own tasks start with its first connection
        before = len(asyncio.all_tasks())
        await join_and_leave(50)
        assert len(asyncio.all_tasks()) == before
        assert await arows("channels_postgres_groupchannel") == 0

    run(scenario)


@postgres_layer_only
def test_a_listening_layer_deletes_expired_messages_and_memberships(monkeypatch):
    """Before: message rows (each kept after its NOTIFY carried it) and memberships were deleted
    only by the tasks `group_discard` started, and memberships never expired."""
    from datetime import timedelta

    from django.utils import timezone

    from tasks import channel_layer

    monkeypatch.setattr(channel_layer, "SWEEP_SECONDS", 0.2)
    past, future = timezone.now() - timedelta(minutes=5), timezone.now() + timedelta(minutes=5)
    _insert("channels_postgres_message", "channel, message, expire",
            [("specific.gone0!", b"x", past)] * 30 + [("specific.live0!", b"x", future)])
    _insert("channels_postgres_groupchannel", "group_key, channel, expire",
            [("asgi:group:tasks.all", "specific.gone0!a", past), ("asgi:group:tasks.all", "specific.live0!a", future)])

    async def scenario():
        layer = channel_layers["default"]
        with contextlib.suppress(asyncio.TimeoutError):  # receiving starts the listener, and the sweep with it
            await asyncio.wait_for(layer.receive(await layer.new_channel()), 0.5)
        deadline = time.monotonic() + TIMEOUT
        while await arows("channels_postgres_message", "expire < now()") and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await arows("channels_postgres_message") == 1
        assert await arows("channels_postgres_groupchannel") == 1

    run(scenario)


@postgres_layer_only
def test_an_expired_membership_is_sent_nothing_and_a_new_one_lasts_a_day():
    """A Daphne stopped with sockets open leaves their memberships behind; the library kept them for
    ever, and every event of the site stored a row for the process that was gone."""
    from datetime import timedelta

    from django.utils import timezone

    _insert("channels_postgres_groupchannel", "group_key, channel, expire",
            [("asgi:group:tasks.all", "specific.gone0!a", timezone.now() - timedelta(seconds=1))])

    async def scenario():
        layer = channel_layers["default"]
        assert await layer.group_send_batch([(["tasks.all"], {"type": "task.event"})]) == 0
        await layer.group_send("tasks.all", {"type": "task.event"})
        assert await arows("channels_postgres_message") == 0
        await layer.group_add("tasks.all", await layer.new_channel())
        assert await arows("channels_postgres_groupchannel",
                           "expire > now() + interval '23 hours 59 minutes'") == 1

    run(scenario)


@postgres_layer_only
def test_a_closed_socket_leaves_no_queue_behind_even_when_an_event_comes_after_it(editor):
    """Before: the library kept a queue (and a lock mark) for every channel the process ever had,
    and created one for an event that reached a socket already closed, keeping the event."""
    from channels_postgres.core import ASYNCIO_EVENT_CHANNEL_MAPPING

    task = submit_task(created_by=editor)

    async def scenario():
        layer = channel_layers["default"]

        async def open_and_close(times: int) -> None:
            for _ in range(times):
                ws = await opened(f"/ws/tasks/{task.pk}", editor)
                await next_frame(ws)
                await ws.disconnect()

        await open_and_close(1)
        before = len(ASYNCIO_EVENT_CHANNEL_MAPPING), len(layer._channel_advisory_locks)
        await open_and_close(20)
        watcher = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(watcher)
        gone = await layer.new_channel()
        await layer.group_add(f"task.{task.pk}", gone)  # a member whose socket closed before the event
        await arecord(task, "after they left")
        # One stored message carries the event to both members of this process: once the watcher
        # has it, the one that left was handled too.
        assert (await events(watcher, 1))[0]["message"] == "after they left"
        await watcher.disconnect()
        assert (len(ASYNCIO_EVENT_CHANNEL_MAPPING), len(layer._channel_advisory_locks)) == before

    run(scenario)


@postgres_layer_only
def test_leaving_every_group_deletes_this_process_memberships_only(editor):
    """What a stopping Daphne does (config.daphne_guards.leave_groups_at_shutdown): its consumers,
    cancelled, leave no group themselves."""
    from datetime import timedelta

    from django.utils import timezone

    task = submit_task(created_by=editor)
    _insert("channels_postgres_groupchannel", "group_key, channel, expire",
            [("asgi:group:tasks.all", "specific.other!a", timezone.now() + timedelta(hours=1))])

    async def scenario():
        layer = channel_layers["default"]
        sockets = [await opened(path, editor) for path in (f"/ws/tasks/{task.pk}", "/ws/tasks", "/ws/tasks")]
        for ws in sockets:
            await next_frame(ws)
        assert await arows("channels_postgres_groupchannel") == 4
        assert await layer.leave_every_group() == 3
        assert await arows("channels_postgres_groupchannel", "channel = 'specific.other!a'") == 1
        assert await arows("channels_postgres_groupchannel") == 1
        for ws in sockets:
            await ws.disconnect()

    run(scenario)


@postgres_layer_only
def test_a_watcher_joining_right_after_a_database_restart_is_not_handed_a_dead_pooled_connection(editor):
    """A restart ends every connection the layer's pool keeps idle, and the one a socket read thread
    keeps while busy; both were used as they were, so the first join after the restart (a watcher
    reconnecting) and the first handshake read of each thread failed with 1011, and the first
    broadcast of each worker was lost. Now a connection whose socket has something to read (the
    server's goodbye) is checked before it is used, and replaced."""
    task = submit_task(created_by=editor)

    def end_every_other_connection() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return cursor.fetchone()[0]

    async def scenario():
        first = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(first))["type"] == "snapshot"
        assert await database_sync_to_async(end_every_other_connection)() >= 1
        await asyncio.sleep(0.2)  # the goodbye reaches the idle sockets
        second = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(second))["type"] == "snapshot"
        await arecord(task, "after the restart")
        assert [e["message"] for e in await events(second, 1)] == ["after the restart"]
        await first.disconnect()
        await second.disconnect()

    run(scenario)


@postgres_layer_only
def test_a_membership_a_closing_socket_could_not_delete_goes_at_the_next_sweep(editor, monkeypatch, caplog):
    """The database away as a socket closes (the pool's wait for a connection ran out): the close
    goes on with one WARNING line, and the next sweep that reaches the database deletes the
    membership. Before, the close raised, and the membership stayed for a day, a row stored for
    every event of its task meanwhile."""
    import psycopg
    import psycopg_pool

    task = submit_task(created_by=editor)

    async def scenario():
        layer = channel_layers["default"]
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        await next_frame(ws)
        deleting, sweeping = layer.django_db.delete_channel_group, layer.django_db.delete_memberships

        async def unreachable(*args):
            raise psycopg_pool.PoolTimeout("couldn't get a connection after 30.00 sec")

        async def broken(*args):
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(layer.django_db, "delete_channel_group", unreachable)
        await ws.disconnect()
        monkeypatch.setattr(layer.django_db, "delete_channel_group", deleting)
        assert await arows("channels_postgres_groupchannel") == 1

        monkeypatch.setattr(layer.django_db, "delete_memberships", broken)  # still away at the first sweep
        with pytest.raises(psycopg.OperationalError):
            await layer.delete_pending_discards()
        monkeypatch.setattr(layer.django_db, "delete_memberships", sweeping)
        assert await arows("channels_postgres_groupchannel") == 1

        assert await layer.delete_pending_discards() == 1  # back
        assert await arows("channels_postgres_groupchannel") == 0
        assert await layer.delete_pending_discards() == 0

    run(scenario)
    warnings = [r for r in caplog.records if r.name == "tasks.channel_layer"]
    assert [(r.levelname, r.exc_info) for r in warnings] == [("WARNING", None)]
    assert warnings[0].getMessage().startswith(f"Could not leave group task.{task.pk} for specific.")
    assert warnings[0].getMessage().endswith(
        "; the next sweep deletes the membership: PoolTimeout: couldn't get a connection after 30.00 sec")


@postgres_layer_only
def test_memberships_left_to_the_sweep_are_bounded(monkeypatch):
    from tasks import channel_layer as layer_module

    monkeypatch.setattr(layer_module, "PENDING_DISCARDS_MAX", 3)

    async def scenario():
        layer = channel_layers["default"]

        async def unreachable(*args):
            raise layer_module.psycopg_pool.PoolTimeout("couldn't get a connection")

        channels = [await layer.new_channel() for _ in range(5)]
        for channel in channels:
            await layer.group_add("task.left", channel)
        monkeypatch.setattr(layer.django_db, "delete_channel_group", unreachable)
        for channel in channels:
            await layer.group_discard("task.left", channel)
        assert [channel for _, channel in layer._pending_discards] == channels[2:]  # the newest three
        assert await layer.delete_pending_discards() == 3
        assert await arows("channels_postgres_groupchannel") == 2  # the oldest two expire in a day

    run(scenario)
