"""A request id on every log line of a request, and on its response, for finding one request's
lines among many processes' (`X-Request-ID`).

The id is the `X-Request-ID` header the reverse proxy sent (nginx: `proxy_set_header X-Request-ID
$request_id;`), so the proxy's log and ours share it, but only when it is a short safe token
(letters, digits, `.`, `_`, `-`; at most 64) and, once PRESSROOM_TRUSTED_PROXIES is set, only from
one of those proxies; anything else (NUL, newlines, 10 kB, another client's choice) is replaced by
a fresh random id and never logged. The id is echoed in the response's `X-Request-ID`.

The middleware comes first, so even a request that a later middleware refuses (a NUL in a header:
400) is logged with an id; the id stays bound until the response is closed, so Django's own
"Not Found" line, written after the middleware returned, carries it too. Each request also writes one line to the `pressroom.request` logger:
method, path (percent-encoded, without the query, which may hold tokens), status and duration;
health probes and metrics scrapes at DEBUG, the rest at INFO.

WebSockets get the same from `WebSocketRequestLog`, the ASGI middleware in front of their routes
(config/asgi.py): an id chosen by the same rule, bound for as long as the connection is open (so
every line its consumer writes carries it), and one `pressroom.request` line when the connection
ends — refused before it was accepted, or closed, by which side, with the close code and how long
it was open — as a request's line comes when it is answered; the moment it is accepted is a line
at DEBUG. These lines replace Daphne's own access log, plain text on stdout, which Daphne runs
without (`scripts.supervisor.ws_command`). At INFO the log costs a connection ~0.1 ms of CPU
(~0.17 ms when the DEBUG line is written too: `WebsocketCommunicator` in a loop, 2,000 connections).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.utils.encoding import escape_uri_path

from config.client_address import peer_is_trusted_proxy
from tasks.logging import bind_request_id, unbind_request_id
from tasks.ws_auth import header

logger = logging.getLogger("pressroom.request")

HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class _HandshakeHeaders:
    """The two headers `request_id_for` reads, of an ASGI WebSocket handshake, as a request's META."""

    def __init__(self, scope):
        self.META = {
            "REMOTE_ADDR": (scope.get("client") or ("",))[0] or "",
            "HTTP_X_REQUEST_ID": header(scope, b"x-request-id") or "",
        }


def request_id_for(request) -> str:
    """The id of `request`: the proxy's X-Request-ID when it may be believed (see the module),
    else a new random one."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    trusted_source = not settings.PRESSROOM_TRUSTED_PROXIES or peer_is_trusted_proxy(request)
    if trusted_source and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request)
        request.request_id = request_id
        started = time.monotonic()
        bind_request_id(request_id)  # unbound when the response is closed (see the module)
        response = self.get_response(request)
        response[HEADER] = request_id
        path, milliseconds = escape_uri_path(request.path), round((time.monotonic() - started) * 1000, 1)
        logger.log(
            logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
            "%s %s %s %.1fms", request.method, path, response.status_code, milliseconds,
            extra={"method": request.method, "path": path, "status": response.status_code, "duration_ms": milliseconds},
        )
        return response


class _WebSocketConnection:
    """What `WebSocketRequestLog` saw of one connection: its messages in both directions."""

    def __init__(self, path: str):
        self.path = path
        self.started = time.monotonic()
        self.accepted_at: float | None = None
        self.closed_by: str | None = None  # "server" or "client": the side that closed first
        self.close_code: int | None = None

    def sent(self, message) -> None:
        kind = message.get("type")
        if kind == "websocket.accept" and self.accepted_at is None:
            self.accepted_at = time.monotonic()
            logger.debug("WebSocket %s accepted", self.path,
                         extra={"path": self.path, "status": 101, "event": "accepted",
                                "duration_ms": round((self.accepted_at - self.started) * 1000, 1)})
        elif kind == "websocket.close" and self.closed_by is None:
            self.closed_by, self.close_code = "server", message.get("code") or 1000

    def received(self, message) -> None:
        if message.get("type") == "websocket.disconnect" and self.closed_by is None:
            self.closed_by, self.close_code = "client", message.get("code")

    def ended(self) -> None:
        milliseconds = round((time.monotonic() - (self.accepted_at or self.started)) * 1000, 1)
        fields = {"path": self.path, "close_code": self.close_code, "closed_by": self.closed_by,
                  "duration_ms": milliseconds}
        if self.accepted_at is not None:
            logger.info("WebSocket %s closed %s by the %s after %.1f s", self.path, self.close_code,
                        self.closed_by or "application", milliseconds / 1000, extra={**fields, "event": "closed"})
        elif self.closed_by == "server":  # Daphne answers such a handshake 403
            logger.info("WebSocket %s refused (closed %s before it was accepted: 403)", self.path, self.close_code,
                        extra={**fields, "status": 403, "event": "refused"})
        else:
            logger.info("WebSocket %s ended before it was accepted", self.path, extra={**fields, "event": "ended"})


class WebSocketRequestLog:
    """ASGI middleware for WebSocket connections: a request id bound while the connection is
    open, and its lines on `pressroom.request` (see the module)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        bind_request_id(request_id_for(_HandshakeHeaders(scope)))  # in this connection's own context
        connection = _WebSocketConnection(escape_uri_path(scope.get("path") or "/"))

        async def receive_logged():
            message = await receive()
            connection.received(message)
            return message

        async def send_logged(message):
            connection.sent(message)
            await send(message)

        try:
            return await self.app(scope, receive_logged, send_logged)
        finally:
            connection.ended()
            unbind_request_id()


# Django writes a refused request's "Not Found"/"Forbidden" line after the middleware returned; the
# id stays bound until the response is closed, and never carries over into the next request.
request_finished.connect(unbind_request_id, dispatch_uid="pressroom-unbind-request-id")
