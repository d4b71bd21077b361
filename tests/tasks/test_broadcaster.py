"""The process's event broadcaster: one channel-layer instance on one background loop, reused by
every broadcast, in order, and a broadcaster of its own in a forked child (a django-q2 worker).

Runs against the configured layer (PostgreSQL without REDIS_URL, Redis with it); a second layer
instance, on the test's own loop, receives what the broadcaster sends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from django.db import connection

from tasks import broadcaster as broadcaster_module
from tasks.broadcaster import broadcaster
from tasks.events import emit, task_group
from tasks.models import GenerationTask
from tests.factories import submit_task
from tests.seed import ensure_seed_data
from tests.tasks.websocket_support import postgres_layer, postgres_layer_only  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10


@pytest.fixture(autouse=True)
def fresh_broadcaster():
    """Each test starts with no broadcaster running and leaves none behind."""
    ensure_seed_data()
    broadcaster().close()
    yield
    broadcaster().close()


def receive_while(action, group: str, count: int) -> list[dict]:
    """Join `group` on a layer instance of this test's own, run the sync `action` in a thread
    (as a worker's code runs: no event loop there), and return the first `count` messages."""

    def in_thread():
        try:
            action()
        finally:
            connection.close()

    async def scenario():
        layer = channel_layers.make_backend("default")
        try:
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            await asyncio.to_thread(in_thread)
            return [await asyncio.wait_for(layer.receive(channel), TIMEOUT) for _ in range(count)]
        finally:
            await layer.close_pools()

    return async_to_sync(scenario)()


def test_every_broadcast_of_a_process_goes_through_one_layer_instance_in_order(monkeypatch):
    built = []
    make_backend = channel_layers.make_backend

    def counting(name):
        layer = make_backend(name)
        built.append(layer)
        return layer

    monkeypatch.setattr(channel_layers, "make_backend", counting)
    sent_before = broadcaster().sent
    task = submit_task()  # its `created` event is the process's first broadcast
    assert broadcaster().flush(TIMEOUT)

    def emit_three():
        for number in range(3):
            emit(GenerationTask.objects.get(pk=task.pk), "log", message=f"event {number}")
        assert broadcaster().flush(TIMEOUT)

    received = receive_while(emit_three, task_group(task.pk), 3)
    monkeypatch.setattr(channel_layers, "make_backend", make_backend)
    assert [message["event"]["message"] for message in received] == ["event 0", "event 1", "event 2"]
    assert [message["event"]["sequence"] for message in received] == [2, 3, 4]
    assert len(built) == 2, "the receiver's instance and one for all of the process's broadcasts"
    assert broadcaster().layer is built[0]
    assert broadcaster().sent == sent_before + 4


def test_a_forked_child_broadcasts_through_a_layer_of_its_own_and_leaves_the_parents_working():
    task = submit_task()
    group = task_group(task.pk)
    parents = broadcaster()
    assert parents.flush(TIMEOUT)  # the task's `created` event
    sent_before = parents.sent

    def parent_then_child_then_parent():
        parents.send([group], {"type": "task.event", "event": {"message": "parent before"}})
        assert parents.flush(TIMEOUT)
        pid = os.fork()
        if pid == 0:  # the child: a django-q2 worker forked from its cluster
            code = 1
            try:
                child = broadcaster()
                child.send([group], {"type": "task.event", "event": {"message": "child"}})
                sent = child.flush(TIMEOUT) and child.sent == 1
                code = 0 if sent and child is not parents and child.layer is not parents.layer else 2
                child.close()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child sent through a broadcaster of its own"
        parents.send([group], {"type": "task.event", "event": {"message": "parent after"}})
        assert parents.flush(TIMEOUT)

    received = receive_while(parent_then_child_then_parent, group, 3)
    assert [message["event"]["message"] for message in received] == ["parent before", "child", "parent after"]
    assert broadcaster() is parents and parents.sent == sent_before + 2


def test_changing_the_layer_configuration_rebuilds_the_broadcasters_layer(settings):
    task = submit_task()
    emit(task, "log", message="first")
    assert broadcaster().flush(TIMEOUT)
    first = broadcaster().layer
    settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"],
                                           "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"]}}}
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["expiry"] = 30
    emit(GenerationTask.objects.get(pk=task.pk), "log", message="second")
    assert broadcaster().flush(TIMEOUT)
    assert broadcaster().layer is not first and broadcaster().layer is not None


def test_a_full_queue_drops_broadcasts_instead_of_blocking_the_worker(monkeypatch):
    monkeypatch.setattr(broadcaster_module, "QUEUE_LIMIT", 2)
    # One message at a time in the layer's hands: of five, at most one is being sent and two wait.
    monkeypatch.setattr(broadcaster_module, "BATCH_LIMIT", 1)
    caster = broadcaster()
    gate = asyncio.Event()

    async def held(*args):  # a layer whose server does not answer
        await gate.wait()

    caster.send(["warm-up"], {"type": "task.event", "event": {}})
    assert caster.flush(TIMEOUT)
    monkeypatch.setattr(caster.layer, "group_send", held)
    for name in ("group_send_many", "group_send_batch"):
        if hasattr(caster.layer, name):
            monkeypatch.setattr(caster.layer, name, held)
    for number in range(5):
        caster.send(["g"], {"type": "task.event", "event": {"sequence": number}})
    try:
        assert not caster.flush(0.5)
        assert caster.dropped >= 2
    finally:
        caster._running.loop.call_soon_threadsafe(gate.set)


@postgres_layer_only
def test_a_postgres_group_send_to_a_group_nobody_joined_is_one_query(monkeypatch):
    """Every event goes to two groups, and most tasks run with nobody watching."""
    layer = channel_layers.make_backend("default")
    lookups, sends = [], []
    retrieve, send = layer.django_db.retrieve_group_channels, layer.django_db.send_to_channel

    async def counting_retrieve(group_key):
        lookups.append(group_key)
        return await retrieve(group_key)

    async def counting_send(*args, **kwargs):
        sends.append(args)
        return await send(*args, **kwargs)

    monkeypatch.setattr(layer.django_db, "retrieve_group_channels", counting_retrieve)
    monkeypatch.setattr(layer.django_db, "send_to_channel", counting_send)

    async def scenario():
        try:
            await layer.group_send("task.nobody-watches", {"type": "task.event", "event": {}})
        finally:
            await layer.close_pools()

    async_to_sync(scenario)()
    assert len(lookups) == 1 and sends == []


@postgres_layer_only
def test_the_postgres_layer_sends_to_several_groups_with_one_lookup():
    """What the broadcaster uses for every event (its task's group and the all-tasks group):
    only the joined group gets the message, and nobody joined costs one query."""
    layer, receiver = channel_layers.make_backend("default"), channel_layers.make_backend("default")

    async def scenario():
        try:
            channel = await receiver.new_channel()
            await receiver.group_add("task.watched", channel)
            await layer.group_send_many(["task.unwatched", "task.watched"], {"type": "task.event", "event": "x"})
            assert (await asyncio.wait_for(receiver.receive(channel), TIMEOUT))["event"] == "x"
            await layer.group_send_many(["task.unwatched", "tasks.nobody"], {"type": "task.event", "event": "y"})
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(receiver.receive(channel), 1)
            await receiver.group_discard("task.watched", channel)
        finally:
            await layer.close_pools()
            await receiver.close_pools()

    async_to_sync(scenario)()


@postgres_layer_only
def test_what_queues_up_while_the_broadcaster_sends_goes_to_the_layer_as_one_batch_in_order(monkeypatch):
    """A worker commits events faster than one query each: what waits is handed to the
    PostgreSQL layer at once (one lookup of the groups' members), in the order it was queued."""
    caster = broadcaster()
    caster.send(["warm-up"], {"type": "task.event", "event": {}})
    assert caster.flush(TIMEOUT)
    layer, gate, entered, batches = caster.layer, asyncio.Event(), threading.Event(), []
    send_batch = layer.group_send_batch

    async def recording(batch):
        batches.append([message["event"]["sequence"] for _, message in batch])
        if len(batches) == 1:  # the layer is busy with one message while the others queue
            entered.set()
            await gate.wait()
        return await send_batch(batch)

    monkeypatch.setattr(layer, "group_send_batch", recording)
    caster.send(["tasks.all"], {"type": "task.event", "event": {"sequence": -1}})
    assert entered.wait(TIMEOUT)
    for number in range(30):
        caster.send([f"task.{number}", "tasks.all"], {"type": "task.event", "event": {"sequence": number}})
    caster._running.loop.call_soon_threadsafe(gate.set)
    assert caster.flush(TIMEOUT)
    assert batches == [[-1], list(range(30))], "the 30 that waited went as one batch, in order"
    assert caster.sent >= 31


@postgres_layer_only
def test_the_postgres_layer_sends_a_batch_with_one_lookup_to_the_joined_groups_in_order(monkeypatch):
    layer, receiver = channel_layers.make_backend("default"), channel_layers.make_backend("default")
    pools = []
    get_pool = layer.django_db.get_db_pool

    async def counting_pool(*args, **kwargs):
        pools.append(args)
        return await get_pool(*args, **kwargs)

    async def scenario():
        try:
            channel = await receiver.new_channel()
            await receiver.group_add("task.watched", channel)
            monkeypatch.setattr(layer.django_db, "get_db_pool", counting_pool)
            await layer.group_send_batch([(["task.a", "tasks.nobody"], {"type": "task.event", "event": n})
                                          for n in range(10)])
            assert len(pools) == 1, "nobody joined: one lookup for the ten messages"
            await layer.group_send_batch([(["task.watched" if n % 2 else "task.b", "tasks.nobody"],
                                           {"type": "task.event", "event": n}) for n in range(6)])
            got = [(await asyncio.wait_for(receiver.receive(channel), TIMEOUT))["event"] for _ in range(3)]
            assert got == [1, 3, 5]
        finally:
            await layer.close_pools()
            await receiver.close_pools()

    async_to_sync(scenario)()


@pytest.fixture(params=["configured", "postgres"])
def either_layer(request):
    """The suite's configured layer (Redis in CI) and the PostgreSQL layer, which both report how
    many receivers a batch reached."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_layer")


def record_batches(monkeypatch, caster, batches: list) -> None:
    """Append to `batches` the events of each batch the broadcaster hands to its layer from now on."""
    send_batch = caster.layer.group_send_batch

    async def recording(batch):
        batches.append([message["event"] for _, message in batch])
        return await send_batch(batch)

    monkeypatch.setattr(caster.layer, "group_send_batch", recording)


def test_after_a_batch_that_reached_nobody_what_queues_up_in_the_quiet_window_goes_as_one_batch(
        either_layer, monkeypatch):
    """A task nobody watches: its transitions' events, each handed over on its own, reach the
    layer together instead of one lookup (PostgreSQL) or pipeline (Redis) per transition."""
    monkeypatch.setattr(broadcaster_module, "QUIET_WINDOW_SECONDS", 1.0)
    caster = broadcaster()
    caster.send(["task.warm-up"], {"type": "task.event", "event": "warm-up"})
    assert caster.flush(TIMEOUT)
    batches = []
    record_batches(monkeypatch, caster, batches)
    caster.send(["task.nobody", "tasks.nobody"], {"type": "task.event", "event": "first"})
    assert caster.flush(TIMEOUT)
    for number in range(3):  # three transitions, three hand-overs, while the window runs
        caster.send(["task.nobody", "tasks.nobody"], {"type": "task.event", "event": number})
    assert caster.flush(TIMEOUT)
    assert batches == [["first"], [0, 1, 2]]


def test_a_batch_that_reached_a_watcher_opens_no_window(either_layer, monkeypatch):
    """Someone watches: every event is sent as soon as the one before it was, as without the
    window (here one long enough that waiting for it would fail the receive)."""
    monkeypatch.setattr(broadcaster_module, "QUIET_WINDOW_SECONDS", 60.0)
    caster, batches = broadcaster(), []

    def three_transitions():
        caster.send(["task.watched", "tasks.nobody"], {"type": "task.event", "event": 0})  # starts the broadcaster
        assert caster.flush(TIMEOUT)
        record_batches(monkeypatch, caster, batches)
        for number in (1, 2):
            caster.send(["task.watched", "tasks.nobody"], {"type": "task.event", "event": number})
            assert caster.flush(TIMEOUT)

    received = receive_while(three_transitions, "task.watched", 3)
    assert [message["event"] for message in received] == [0, 1, 2]
    assert batches == [[1], [2]]


@postgres_layer_only
def test_the_postgres_layer_counts_the_rows_a_batch_stored():
    layer, receiver = channel_layers.make_backend("default"), channel_layers.make_backend("default")

    async def scenario():
        try:
            channel = await receiver.new_channel()
            await receiver.group_add("task.watched", channel)
            nobody = await layer.group_send_batch([(["task.a", "tasks.nobody"], {"type": "task.event", "event": 1})])
            watched = await layer.group_send_batch([(["task.watched", "tasks.nobody"], {"type": "task.event", "event": n})
                                                    for n in range(3)])
            await receiver.group_discard("task.watched", channel)
            return nobody, watched
        finally:
            await layer.close_pools()
            await receiver.close_pools()

    assert async_to_sync(scenario)() == (0, 3)


def test_a_burst_larger_than_a_batch_is_sent_without_waiting_for_the_window(either_layer, monkeypatch):
    """An admin action that cancels hundreds of tasks nobody watches: batch after batch, not one
    batch per window."""
    monkeypatch.setattr(broadcaster_module, "QUIET_WINDOW_SECONDS", 60.0)
    caster = broadcaster()

    def burst():
        caster.send(["task.watched"], {"type": "task.event", "event": "watched"})  # reached someone: no window
        assert caster.flush(TIMEOUT)
        caster.send_many([(["task.nobody", "tasks.nobody"], {"type": "task.event", "event": number})
                          for number in range(broadcaster_module.BATCH_LIMIT * 2 + 1)])
        assert caster.flush(TIMEOUT), "three batches, sent one after the other"

    assert [message["event"] for message in receive_while(burst, "task.watched", 1)] == ["watched"]


def test_a_broadcast_the_layer_cannot_take_while_its_server_is_away_logs_lines_without_a_traceback(
        monkeypatch, caplog):
    """Redis (or PostgreSQL) away: each event's broadcast logged two tracebacks, the batch's and its
    own (60 tracebacks, 220 kB, from one worker in an 18-second Redis outage)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    caster = broadcaster()
    caster.send(["warm-up"], {"type": "task.event", "event": {}})
    assert caster.flush(TIMEOUT)

    async def away(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for name in ("group_send_batch", "group_send_many", "group_send"):
        monkeypatch.setattr(caster.layer, name, away, raising=False)
    with caplog.at_level(logging.WARNING, logger="tasks.broadcaster"):
        caster.send(["tasks.all"], {"type": "task.event", "event": {"task": "t", "sequence": 7}})
        assert caster.flush(TIMEOUT)

    lines = [record for record in caplog.records if record.name == "tasks.broadcaster"]
    assert len(lines) == 2 and not any(record.exc_info for record in lines), caplog.text
    assert all("ConnectionError: Error 111" in record.getMessage() for record in lines)
    assert "t/7" in lines[1].getMessage()
