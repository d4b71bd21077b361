"""The Redis channel layer (used when REDIS_URL is set): channels_redis's pub/sub layer.

A group message is one `PUBLISH` to the group's Redis channel; every process with a member
subscribed gets it once on its one subscriber connection and puts it in each member's in-process
queue. Nothing is stored in Redis and nothing is polled per member.

channels_redis's list-based layer (`channels_redis.core.RedisChannelLayer`, used until issue 13)
also stores a group message once per process, but every waiting consumer of a process takes part
in its receive loop: each one, every time a message arrives, starts two asyncio tasks (the shared
receive lock and its own buffer) and cancels the one that lost, and only the lock's holder pops
the process's list, in four round trips per message (clean-up script, pop, backup copy, backup
removal). With 1,000 sockets watching ten tasks of one Daphne, that churn put the push latency's
p95 at 173–259 ms; on this layer it was 51–104 ms in four runs the same morning
(docs/performance.md, "Issue 13's targets").

What pub/sub gives up, and why that is safe here: a message published while a process's
subscriber connection is down (Redis restarting) is not kept for it. Neither was it with the list
layer when Redis itself went away, and every event is a database row first: a consumer that
receives an event after a gap sends the missing ones from the database, and a client that
reconnects with `?after=N` gets the rest (tasks/consumers.py). A member's queue has no capacity
limit; a consumer handles an event by writing one frame to its socket, so it does not fall behind.

This subclass adds `close_pools()`, the method the PostgreSQL layer and the list layer both have,
so the broadcaster and the readiness check close whichever layer they hold the same way. And it
answers "no such attribute" for what the per-loop layer does not have, without a running loop:
the library's proxy looks every unknown name up on the current loop's layer, so even asking
whether the layer has an optional method (the broadcaster's `group_send_batch`) raised
"no running event loop" outside one.
"""

from __future__ import annotations

import asyncio

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer

# What the library's proxy may forward to a loop's layer: its class's names and the attributes
# its __init__ sets.
LOOP_LAYER_ATTRIBUTES = frozenset(dir(RedisPubSubLoopLayer)) | {
    "prefix", "on_disconnect", "on_reconnect", "channel_layer", "channels", "groups", "_shards",
}


class RedisChannelLayer(RedisPubSubChannelLayer):
    def __getattr__(self, name):
        if name not in LOOP_LAYER_ATTRIBUTES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return super().__getattr__(name)

    async def group_send_many(self, groups: list[str], message: dict) -> int:
        """`message` to each of `groups` (an event goes to its task's group and the all-tasks group)."""
        return await self.group_send_batch([(groups, message)])

    async def group_send_batch(self, batch: list[tuple[list[str], dict]]) -> int:
        """Each message of `batch` to each of its groups, in order, as one pipeline of PUBLISHes
        per Redis server: one round trip for what the broadcaster had queued, where `group_send`
        is one per group and message (an engine task's 13 events to two groups each were 26
        round trips and ~5 ms of a worker's CPU). A group always maps to the same server, so each
        group's messages keep their order. This reaches into the library's shards (its lock, its
        client); the tests of this module cover it for the pinned major version. Returns the
        number of subscriber connections reached, as the PUBLISHes count them (0: nobody
        watches)."""
        layer = self._get_layer()
        by_shard: dict = {}
        for groups, message in batch:
            data = self.serialize(message)
            for group in groups:
                channel = layer._get_group_channel_name(group)
                by_shard.setdefault(layer._get_shard(channel), []).append((channel, data))
        reached = 0
        for shard, publishes in by_shard.items():
            async with shard._lock:
                shard._ensure_redis()
                pipeline = shard._redis.pipeline(transaction=False)
                for channel, data in publishes:
                    pipeline.publish(channel, data)
                reached += sum(await pipeline.execute())
        return reached

    async def close_pools(self) -> None:
        """Close this instance's connections on the running loop (its subscriptions end with them)."""
        layer = self._layers.pop(asyncio.get_running_loop(), None)
        if layer is not None:
            await layer.flush()
