"""What the task WebSocket tests share: fixtures, a communicator per route, frame reads.

The task WebSockets in-process: channels' WebsocketCommunicator against config.asgi.application.

Tests are plain functions whose async part runs through asgiref's `async_to_sync` on an event loop
of its own (`run`), with a channel layer instance of its own, as configured: PostgreSQL without
REDIS_URL, Redis with it (the PostgreSQL layer's own tests, `postgres_layer_only`, use it either
way). Data is committed (transactional database) because the consumers and
the broadcasts read and write through their own connections.
"""

from __future__ import annotations

import asyncio
import copy
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from tasks.events import emit
from tasks.models import EventKind, GenerationTask, TaskEvent
from tests.seed import ensure_seed_data

TIMEOUT = 5



@pytest.fixture
def postgres_layer(settings):
    """The PostgreSQL channel layer (the default without REDIS_URL) for this test, whatever layer
    the suite runs with: CI sets REDIS_URL, and these tests must run there too."""
    settings.CHANNEL_LAYERS = {"default": copy.deepcopy(django_settings.POSTGRES_CHANNEL_LAYER)}


postgres_layer_only = pytest.mark.usefixtures("postgres_layer")


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


async def events_of(ws: WebsocketCommunicator, tasks, count: int) -> list[dict]:
    """The next `count` events of `tasks` on an every-task socket, skipping other tasks' events:
    such a socket hears every task its user may see, also one an earlier test of this process
    left, whose broadcast can land late on a busy machine."""
    wanted = {str(task.pk) for task in tasks}
    found = []
    while len(found) < count:
        frame = await next_frame(ws)
        assert frame["type"] == "event", frame
        if frame["event"]["task"] in wanted:
            found.append(frame["event"])
    return found


async def next_frame_of(ws: WebsocketCommunicator, tasks) -> dict:
    """The next frame on an every-task socket that is not another task's event (see `events_of`)."""
    wanted = {str(task.pk) for task in tasks}
    while True:
        frame = await next_frame(ws)
        if frame["type"] != "event" or frame["event"]["task"] in wanted:
            return frame


async def nothing_more_of(ws: WebsocketCommunicator, tasks, seconds: float) -> bool:
    """True when no frame but other tasks' events comes within `seconds` (see `events_of`)."""
    wanted = {str(task.pk) for task in tasks}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await ws.receive_nothing(left):
            return True
        frame = await next_frame(ws)
        if frame["type"] != "event" or frame["event"]["task"] in wanted:
            return False
    return True


def record(task, message: str = "") -> TaskEvent:
    """Emit a log event of `task` as the services do (committed, then broadcast)."""
    return emit(GenerationTask.objects.get(pk=task.pk), EventKind.LOG, message=message)


arecord = database_sync_to_async(record)
