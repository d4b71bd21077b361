"""The cache with `REDIS_URL` set (config.cache.RedisCache): Django's Redis cache, one client per pool.

Each test runs against a `redis-server` of its own (no persistence, a free port).
"""

from __future__ import annotations

import os

import pytest
import redis

from config.cache import RedisCache
from tests.faults.servers import RedisServer, needs_redis_server

pytestmark = needs_redis_server



def cache_on(redis_server: RedisServer) -> RedisCache:
    """The default cache as settings build it when REDIS_URL is set, on the test's server."""
    return RedisCache(redis_server.url, {"KEY_FUNCTION": "config.cache.storable_key", "KEY_PREFIX": "t"})


def test_the_cache_stores_reads_counts_and_forgets(redis_server):
    cache = cache_on(redis_server)

    cache.set("history", [1.5, 2.5], 30)
    assert cache.get("history") == [1.5, 2.5]
    assert cache.add("history", "other") is False
    assert cache.add("fresh", 1) is True
    assert cache.incr("fresh", 4) == 5
    assert cache.get_many(["history", "fresh", "missing"]) == {"history": [1.5, 2.5], "fresh": 5}
    cache.delete("history")
    assert cache.get("history", "gone") == "gone"
    assert redis.Redis.from_url(redis_server.url).ttl("t:1:fresh") > 0  # the default timeout is kept


def test_every_call_is_served_by_the_one_client_of_its_pool(redis_server):
    cache = cache_on(redis_server)

    first = cache._cache.get_client(write=True)
    cache.set("key", "value")
    cache.get("key")

    assert cache._cache.get_client(write=False) is first
    assert cache._cache.get_client("key", write=True) is first
    assert cache._cache._clients == {id(first.connection_pool): first}


def test_a_forked_process_uses_the_cache_on_connections_of_its_own(redis_server):
    cache = cache_on(redis_server)
    cache.set("before-fork", "parent")  # the parent's pool now holds a connection

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            ok = cache.get("before-fork") == "parent" and cache.set("from-child", "child") is None
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get("from-child") == "child"
    assert cache.get("before-fork") == "parent"  # the parent's connection was not disturbed
