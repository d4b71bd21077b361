"""The channel layers as configured in settings: each one must keep an idle subscriber alive."""

import asyncio
import os
import socket
import time

import pytest
from django.conf import settings


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _redis_reachable() and not os.environ.get("CI"), reason="no Redis on 127.0.0.1:6379")
def test_an_idle_redis_subscriber_outlives_the_layers_five_second_wait():
    """redis-py 8's default 5 s read timeout equals channels_redis' BRPOP wait; with the client's
    default an idle receive of the list layer died with "Timeout reading" after 5 s (a 1011 close
    for a quiet page). The layer in use now (pub/sub) must outlive it too."""
    from tasks.redis_layer import RedisChannelLayer

    address = settings.REDIS_URL or "redis://127.0.0.1:6379/6"
    hosts = [{"address": address, **settings.REDIS_LAYER_OPTIONS}]
    if settings.REDIS_URL:
        assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] == hosts

    async def idle_receive() -> float:
        layer = RedisChannelLayer(hosts=hosts)
        channel = await layer.new_channel()
        started = time.monotonic()
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=7)
        except asyncio.TimeoutError:
            return time.monotonic() - started
        finally:
            await layer.close_pools()
        raise AssertionError("nothing was sent, yet a message arrived")

    assert asyncio.run(idle_receive()) >= 6.9
