"""The Redis channel layer (tasks/redis_layer.py): channels_redis's pub/sub layer as configured.

Each test runs against a `redis-server` of its own (no persistence, a free port), so Redis's
command counters and client list are the test's alone. Two layer instances stand for two
processes (two Daphnes).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis
from django.conf import settings

from tasks.redis_layer import RedisChannelLayer
from tests.faults.servers import RedisServer, needs_redis_server

TIMEOUT = 5

pytestmark = needs_redis_server



def layer_on(redis_server: RedisServer) -> RedisChannelLayer:
    """A layer as settings build it when REDIS_URL is set, on the test's server."""
    return RedisChannelLayer(hosts=[{"address": redis_server.url, **settings.REDIS_LAYER_OPTIONS}])


def calls(redis_server: RedisServer, command: str) -> int:
    stats = redis.Redis.from_url(redis_server.url).info("commandstats")
    return stats.get(f"cmdstat_{command}", {}).get("calls", 0)


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


async def until(condition, *, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_a_group_message_is_published_once_and_reaches_every_member_of_every_process(redis_server):
    async def scenario():
        here, there = layer_on(redis_server), layer_on(redis_server)
        try:
            mine = [await here.new_channel() for _ in range(3)]
            theirs = await there.new_channel()
            for channel in mine:
                await here.group_add("task.7", channel)
            await there.group_add("task.7", theirs)
            receiving = [asyncio.ensure_future(here.receive(channel)) for channel in mine]
            receiving.append(asyncio.ensure_future(there.receive(theirs)))
            published_before = calls(redis_server, "publish")
            await here.group_send("task.7", {"type": "task.event", "event": {"sequence": 7}})
            received = await asyncio.wait_for(asyncio.gather(*receiving), TIMEOUT)
            assert received == [{"type": "task.event", "event": {"sequence": 7}}] * 4
            assert calls(redis_server, "publish") - published_before == 1
        finally:
            await here.close_pools()
            await there.close_pools()

    run(scenario)


def test_a_channel_that_left_its_group_gets_nothing_and_the_last_one_out_unsubscribes(redis_server):
    admin = redis.Redis.from_url(redis_server.url)

    def subscribers() -> int:
        [(_, count)] = admin.pubsub_numsub("asgi__group__task.8")
        return count

    async def scenario():
        layer = layer_on(redis_server)
        try:
            staying, leaving = await layer.new_channel(), await layer.new_channel()
            await layer.group_add("task.8", staying)
            await layer.group_add("task.8", leaving)
            assert subscribers() == 1  # one subscription per process, however many members
            await layer.group_discard("task.8", leaving)
            await layer.group_send("task.8", {"type": "task.event", "n": 1})
            assert (await asyncio.wait_for(layer.receive(staying), TIMEOUT))["n"] == 1
            with contextlib.suppress(asyncio.TimeoutError):
                message = await asyncio.wait_for(layer.receive(leaving), 0.5)
                pytest.fail(f"a channel that left its group received {message}")
            await layer.group_discard("task.8", staying)
            assert subscribers() == 0
        finally:
            await layer.close_pools()

    run(scenario)


def test_members_receive_again_after_redis_restarts(redis_server):
    """A restart loses what was published meanwhile (the events are in the database); the
    subscriber connection comes back with its subscriptions, and later messages arrive."""

    async def scenario():
        watching, sending = layer_on(redis_server), layer_on(redis_server)
        try:
            member = await watching.new_channel()
            await watching.group_add("task.9", member)
            await sending.group_send("task.9", {"type": "task.event", "n": 1})
            assert (await asyncio.wait_for(watching.receive(member), TIMEOUT))["n"] == 1

            redis_server.stop()
            redis_server.start()
            received = asyncio.ensure_future(watching.receive(member))
            admin = redis.Redis.from_url(redis_server.url)
            await until(lambda: admin.pubsub_numsub("asgi__group__task.9")[0][1] == 1, timeout=15)
            await sending.group_send("task.9", {"type": "task.event", "n": 2})
            assert (await asyncio.wait_for(received, TIMEOUT))["n"] == 2
        finally:
            await watching.close_pools()
            await sending.close_pools()

    run(scenario)


def test_closing_the_layer_closes_its_connections(redis_server):
    admin = redis.Redis.from_url(redis_server.url)

    def clients() -> int:
        return len(admin.client_list()) - 1  # without the admin connection itself

    async def scenario():
        layer = layer_on(redis_server)
        channel = await layer.new_channel()
        await layer.group_add("task.10", channel)
        await layer.send(channel, {"type": "ping"})
        assert (await asyncio.wait_for(layer.receive(channel), TIMEOUT)) == {"type": "ping"}
        assert clients() >= 1
        await layer.close_pools()
        await until(lambda: clients() == 0)
        await layer.close_pools()  # closing twice, or a layer never used, is harmless

    run(scenario)


def test_asking_for_a_method_the_layer_lacks_needs_no_event_loop(redis_server):
    """The broadcaster looks for optional methods with getattr(); the library's proxy resolved
    every unknown name on the running loop's layer and raised "no running event loop" outside one."""
    layer = layer_on(redis_server)
    assert not hasattr(layer, "receive_many")
    assert callable(layer.group_send_batch) and callable(layer.close_pools)


def test_a_batch_reaches_every_group_in_order_in_one_pipeline(redis_server):
    """The broadcaster hands over what it queued (a transition's events, each to its task's group
    and the all-tasks group) in one call: every message to every one of its groups, in order."""

    async def scenario():
        layer = layer_on(redis_server)
        try:
            task_watcher, all_watcher = await layer.new_channel(), await layer.new_channel()
            await layer.group_add("task.11", task_watcher)
            await layer.group_add("tasks.all", all_watcher)
            published_before = calls(redis_server, "publish")
            await layer.group_send_batch([
                (["task.11", "tasks.all"], {"type": "task.event", "n": n}) for n in range(1, 4)
            ])
            for channel in (task_watcher, all_watcher):
                received = [await asyncio.wait_for(layer.receive(channel), TIMEOUT) for _ in range(3)]
                assert [message["n"] for message in received] == [1, 2, 3]
            assert calls(redis_server, "publish") - published_before == 6
        finally:
            await layer.close_pools()

    run(scenario)


def test_a_batch_counts_the_subscribers_it_reached(redis_server):
    """What the broadcaster reads to open its quiet window: 0 when nobody subscribed."""

    async def scenario():
        layer = layer_on(redis_server)
        try:
            nobody = await layer.group_send_batch([(["task.21", "tasks.nobody"], {"type": "task.event", "n": 1})])
            await layer.group_add("task.21", await layer.new_channel())
            watched = await layer.group_send_batch([(["task.21", "tasks.nobody"], {"type": "task.event", "n": n})
                                                    for n in range(3)])
            assert (nobody, watched) == (0, 3)
        finally:
            await layer.close_pools()

    run(scenario)
