"""A WebSocket watcher of one task on a Daphne the fault tests started, reading event frames
within bounded time; what the crash and Redis tests use to see that no event is missing."""

from __future__ import annotations

import json
import socket
import time

from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.processes import WebServer


def watch(server: WebServer, task, user, *, after: int):
    uri = f"ws://127.0.0.1:{server.port}/ws/tasks/{task.pk}?after={after}&token={AccessToken.for_user(user)}"
    return connect(uri, sock=socket.create_connection(("127.0.0.1", server.port), timeout=10), max_queue=None,
                   open_timeout=10)


def read_events(ws, into: list[dict], *, until, timeout: float) -> bool:
    """Append the socket's event frames to `into` until `until(into)` holds, the socket closes or
    `timeout` passes; True if the socket closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(into):
        try:
            frame = json.loads(ws.recv(timeout=max(0.1, min(1.0, deadline - time.monotonic()))))
        except TimeoutError:
            continue
        except ConnectionClosed:
            return True
        if frame.get("type") == "event":
            into.append(frame["event"])
    return False


def follow(server: WebServer, task, user, into: list[dict], *, until, timeout: float, attempts: int = 3) -> int:
    """Watch `task` as a client does: read events into `into` until `until(into)` holds; when the
    socket drops, reconnect with `?after=<last sequence seen>`. Returns the number of drops."""
    deadline, drops = time.monotonic() + timeout, 0
    while drops < attempts and time.monotonic() < deadline and not until(into):
        ws = watch(server, task, user, after=into[-1]["sequence"] if into else 0)
        try:
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
            closed = read_events(ws, into, until=until, timeout=max(0.1, deadline - time.monotonic()))
        finally:
            ws.close()
        drops += closed
    return drops
