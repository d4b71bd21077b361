"""Two requests any client can send that Daphne 4.2 mishandles before Pressroom's code runs.

- **`Daphne-Root-Path`.** Daphne takes the ASGI scope's `root_path` from this request header,
  whoever sends it (its own protocol code, for a proxy mounting the site under a prefix). Django
  builds every URL it reverses on that prefix, so one request with `Daphne-Root-Path: /evil`
  rendered the blog's home page with its feed links under `/evil/` (`//evil.example` gave
  `/%2Fevil.example/feeds/rss/`), and the page cache kept that page for every reader after it; on
  a WebSocket the prefix made channels' router fail (500). Pressroom is served at the root of its
  host, so `ServedAtRoot`, outermost in config/asgi.py, sets `root_path` to "" for every request
  and socket (Daphne's own `--root-path` included).
- **Non-ASCII `Sec-WebSocket-Protocol`.** Daphne decodes the offered subprotocols as ASCII; any
  other byte raised inside its handshake, which answered 500 and logged an ERROR with a traceback.
  `GuardedWebSocketProtocol` refuses such a handshake with 400 first (RFC 6455 subprotocol names
  are ASCII tokens), and `install()` makes it the protocol of Daphne's WebSocket factory; the
  refused connection never reaches Daphne's bookkeeping of connections.

Remove each guard once Daphne no longer needs it (tests/config/test_daphne_guards.py says which
behaviour each keeps).
"""

from __future__ import annotations

from autobahn.websocket.types import ConnectionDeny
from daphne import ws_protocol


class ServedAtRoot:
    """ASGI middleware: the scope's `root_path` is always "" (see the module)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("root_path"):
            scope = {**scope, "root_path": ""}
        return await self.app(scope, receive, send)


class GuardedWebSocketProtocol(ws_protocol.WebSocketProtocol):
    """Daphne's WebSocket protocol, refusing a non-ASCII Sec-WebSocket-Protocol with 400."""

    refused = False

    def onConnect(self, request):
        if not request.headers.get("sec-websocket-protocol", "").isascii():
            self.refused = True  # before Daphne registers the connection: nothing of it to clean up
            raise ConnectionDeny(ConnectionDeny.BAD_REQUEST, "Sec-WebSocket-Protocol must be ASCII.")
        return super().onConnect(request)

    def onClose(self, wasClean, code, reason):
        if self.refused:
            return  # Daphne never knew of this connection
        super().onClose(wasClean, code, reason)


def install() -> None:
    """Make Daphne's WebSocket factory build `GuardedWebSocketProtocol`s. config/asgi.py runs this
    on import, which Daphne does before it creates its factory."""
    ws_protocol.WebSocketFactory.protocol = GuardedWebSocketProtocol
