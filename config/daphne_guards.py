"""Requests any client can send that Daphne 4.2 (on Twisted and autobahn) mishandles before
Pressroom's code runs.

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

- **Twisted's own reading of form bodies.** Twisted parses a POST's multipart or URL-encoded body
  into `request.args` before Daphne sees the request, though Daphne never reads them: a part named
  the RFC 2231 way (`name*=UTF-8''abc`) raised inside Twisted and the connection was dropped
  without an answer, on any URL. `GuardedWebRequest` turns that parsing off.
- **A request body of any size.** Twisted stores a body whole, in memory or a temporary file,
  before Daphne and Django see the request: one POST declaring 500 MB wrote 500 MB to /tmp in two
  seconds, and nothing bounds how many do. `GuardedWebRequest` answers 413 and closes the
  connection once a body declares or reaches more than REQUEST_BODY_MAX_BYTES, the bound nginx
  keeps in production (`client_max_body_size 10m`, deploy/nginx.conf).
- **A request or header line over Twisted's 16 KiB.** Twisted dropped the connection without an
  answer; `answer_line_too_long` answers 414 (the request line) or 431 (a header) first.
- **A WebSocket message over Daphne's size limit** (`--websocket_max_message_size`, 1 MiB by
  default). autobahn dropped the TCP connection (close code 1006 at the client);
  `GuardedWebSocketProtocol` fails a connection with a close frame instead, here 1009 "message
  too big", so a client learns why.
- **A WebSocket client that does not read.** Daphne hands every frame to Twisted, whose write
  buffer grows without limit while the client's TCP window is shut: twenty sockets of one user that
  never read, watching `/ws/tasks` while 10,000 events of 1.5 kB were emitted, took Daphne from
  118 MB to 347 MB (autobahn's ping timeout ends such a socket only 20–50 s later, whatever it
  holds by then). `GuardedWebSocketProtocol` sends no more once a socket holds more than
  `PRESSROOM_WS_SEND_BUFFER_BYTES` unsent: it closes it with 1013 "try again later" (a client
  that reads slowly gets it after the frames before it and reconnects with `?after=N`; one that
  does not read is dropped by autobahn's close timeout, a second later).
- **A close code of RFC 6455's registry from the application.** Daphne closes a socket with
  autobahn's `sendClose`, which accepts only 1000 and 3000–4999 and raised for anything else, so
  the consumers' 1011 (access could not be checked again: the database was away) never left:
  the consumer had stopped sending, the socket stayed open, and a watcher saw its task freeze
  without a close to reconnect on (a PostgreSQL restart left one of three watchers so).
  `GuardedWebSocketProtocol.serverClose` sends the application's code as it is, as the ASGI
  specification lets an application choose it.
- **A request that never finishes arriving.** Twisted's only limit is 60 s without a byte, so a
  client sending a header line, or a byte of its body, every 40 s holds its connection for ever:
  600 such connections from one address were all open after 95 s (under `make run` Daphne serves
  every page; in production nginx receives the whole request before passing it on, see
  deploy/nginx.conf). `RequestArrivalDeadline` answers 408 and closes a connection whose request
  has not arrived whole (head and body) within REQUEST_ARRIVAL_SECONDS of its first byte.
- **Group memberships at shutdown.** A stopping Daphne cancels its consumers, which then leave
  no channel-layer group; on the PostgreSQL layer every restart left its open sockets'
  memberships, each of which had a row stored for every event after it (Daphne waits only for the
  first cancelled consumer to end, so they cannot do it themselves). `leave_groups_at_shutdown`,
  a shutdown trigger, has the layer delete all of the process's memberships in one statement.

Remove each guard once Daphne no longer needs it (tests/config/test_daphne_guards.py says which
behaviour each keeps).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from autobahn.websocket.types import ConnectionDeny
from daphne import http_protocol, ws_protocol
from django.conf import settings
from twisted.internet import defer
from twisted.web import http

from tasks.metrics import websocket_closed_by_server

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455's registry: the server ends the connection for a passing condition
LEAVE_GROUPS_SECONDS = 5  # how long a stopping Daphne waits for its memberships to be deleted
REQUEST_ARRIVAL_SECONDS = 60  # nginx's client_header_timeout; Django's own limits keep bodies small
REQUEST_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
REQUEST_BODY_MAX_BYTES = 10 << 20  # deploy/nginx.conf's client_max_body_size: no page of the site takes more
BODY_TOO_LARGE_ANSWER = b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
LINE_TOO_LONG = {True: b"414 URI Too Long", False: b"431 Request Header Fields Too Large"}


class ServedAtRoot:
    """ASGI middleware: the scope's `root_path` is always "" (see the module)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("root_path"):
            scope = {**scope, "root_path": ""}
        return await self.app(scope, receive, send)


def unsent_bytes(transport) -> int:
    """Bytes written to `transport` that the kernel has not taken yet: Twisted's write buffer (of
    the TCP transport under a wrapping one, such as TLS)."""
    while not hasattr(transport, "dataBuffer") and getattr(transport, "transport", None) is not None:
        transport = transport.transport
    buffered = getattr(transport, "dataBuffer", b"")
    return len(buffered) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


class GuardedWebSocketProtocol(ws_protocol.WebSocketProtocol):
    """Daphne's WebSocket protocol, refusing a non-ASCII Sec-WebSocket-Protocol with 400, failing
    a connection with a close frame, closing with any code the application chose, and closing one
    that holds too much unsent."""

    refused = False
    # Fail a connection with a close frame and its code (1009 for a message too big), not by
    # dropping it; autobahn copies the factory's option (True) only where the protocol sets none.
    failByDrop = False

    def onConnect(self, request):
        if not request.headers.get("sec-websocket-protocol", "").isascii():
            self.refused = True  # before Daphne registers the connection: nothing of it to clean up
            raise ConnectionDeny(ConnectionDeny.BAD_REQUEST, "Sec-WebSocket-Protocol must be ASCII.")
        return super().onConnect(request)

    def onClose(self, wasClean, code, reason):
        if self.refused:
            return  # Daphne never knew of this connection
        super().onClose(wasClean, code, reason)

    def serverClose(self, code=None):
        """Daphne's close with the application's code as it is: autobahn's `sendClose` raised for
        1011, which the consumers send when the database cannot say whether a watcher may still
        watch, and the socket stayed open (see the module's docstring)."""
        self.sendCloseFrame(code=1000 if code is None else code, isReply=False)

    def serverSend(self, content, binary=False):
        """Daphne's send of a frame the application wrote, unless the client has left more than
        PRESSROOM_WS_SEND_BUFFER_BYTES unread: then the socket is closed with 1013 instead, and
        later frames go nowhere (autobahn sends nothing on a closing connection)."""
        limit = settings.PRESSROOM_WS_SEND_BUFFER_BYTES
        if self.state == self.STATE_OPEN and unsent_bytes(self.transport) > limit:
            logger.warning("WebSocket %s closed with %s: more than %s bytes unsent, the client does not read",
                           self.request.path, CLOSE_TRY_AGAIN_LATER, limit)
            websocket_closed_by_server(CLOSE_TRY_AGAIN_LATER)
            self.sendCloseFrame(code=CLOSE_TRY_AGAIN_LATER, reasonUtf8=b"Too much unread", isReply=False)
            return
        super().serverSend(content, binary)


class GuardedWebRequest(http_protocol.WebRequest):
    """Daphne's request, without Twisted's parsing of POST form bodies (Daphne reads the body
    itself), refusing a body over REQUEST_BODY_MAX_BYTES with 413 before storing more of it."""

    body_refused = False
    body_received = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "parsePOSTFormSubmission": False})

    def gotLength(self, length):
        if length is not None and length > REQUEST_BODY_MAX_BYTES:
            self.refuse_body()
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.body_refused:
            return
        self.body_received += len(data)
        if self.body_received > REQUEST_BODY_MAX_BYTES:  # a chunked body, which declares no length
            self.refuse_body()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if not self.body_refused:
            super().requestReceived(command, path, version)

    def refuse_body(self) -> None:
        self.body_refused = True
        self.channel.transport.write(BODY_TOO_LARGE_ANSWER)
        self.channel.transport.loseConnection()


def answer_line_too_long(channel: http.HTTPChannel, line: bytes) -> None:
    """HTTPChannel.lineLengthExceeded: answer 414 or 431, then close (Twisted only closed)."""
    first_line = bool(getattr(channel, "_HTTPChannel__first_line", 0))
    channel.transport.write(b"HTTP/1.1 " + LINE_TOO_LONG[first_line] +
                            b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    channel.transport.loseConnection()


class RequestArrivalDeadline:
    """What `install()` adds to Twisted's HTTP channel: a deadline for each request to arrive whole.

    It starts with the first byte received while no request is being handled (after the previous
    one was answered) and ends when Twisted has the whole request (`allContentReceived`, also the
    moment a WebSocket handshake is handed over); past it the client gets 408 and the connection
    is closed.
    """

    data_received = http.HTTPChannel.dataReceived
    all_content_received = http.HTTPChannel.allContentReceived
    connection_lost = http.HTTPChannel.connectionLost

    @staticmethod
    def dataReceived(channel: http.HTTPChannel, data: bytes) -> None:
        if data and not channel._handlingRequest and getattr(channel, "arrival_deadline", None) is None:
            channel.arrival_deadline = channel.callLater(REQUEST_ARRIVAL_SECONDS, RequestArrivalDeadline.overdue,
                                                         channel)
        RequestArrivalDeadline.data_received(channel, data)

    @staticmethod
    def allContentReceived(channel: http.HTTPChannel) -> None:
        RequestArrivalDeadline.cancel(channel)
        RequestArrivalDeadline.all_content_received(channel)

    @staticmethod
    def connectionLost(channel: http.HTTPChannel, reason) -> None:
        RequestArrivalDeadline.cancel(channel)
        RequestArrivalDeadline.connection_lost(channel, reason)

    @staticmethod
    def cancel(channel: http.HTTPChannel) -> None:
        deadline, channel.arrival_deadline = getattr(channel, "arrival_deadline", None), None
        if deadline is not None and deadline.active():
            deadline.cancel()

    @staticmethod
    def overdue(channel: http.HTTPChannel) -> None:
        channel.arrival_deadline = None
        if channel.transport is not None:
            channel.transport.write(REQUEST_TIMEOUT_ANSWER)
            channel.transport.loseConnection()


def leave_groups_at_shutdown():
    """Before Daphne stops: delete the process's channel-layer memberships, when its layer keeps
    them in a table (the PostgreSQL layer; Redis pub/sub forgets them with the connection)."""
    from channels.layers import get_channel_layer

    leave = getattr(get_channel_layer(), "leave_every_group", None)
    if leave is None:
        return None

    async def left() -> None:
        try:
            await asyncio.wait_for(leave(), LEAVE_GROUPS_SECONDS)
        except Exception:  # noqa: BLE001 (the database is away: the memberships expire in a day)
            logger.warning("The channel-layer memberships of this process could not be deleted at shutdown",
                           exc_info=True)

    return defer.Deferred.fromFuture(asyncio.ensure_future(left()))


def install() -> None:
    """Make Daphne's WebSocket factory build `GuardedWebSocketProtocol`s, its HTTP factory
    `GuardedWebRequest`s, Twisted's HTTP channel answer a line too long and keep each request's
    arrival deadline, and Daphne leave its groups as it stops. config/asgi.py runs this on import,
    which Daphne does before it creates its factories."""
    ws_protocol.WebSocketFactory.protocol = GuardedWebSocketProtocol
    http_protocol.WebRequest = GuardedWebRequest  # the name HTTPFactory.buildProtocol reads
    http.HTTPChannel.lineLengthExceeded = answer_line_too_long
    http.HTTPChannel.dataReceived = RequestArrivalDeadline.dataReceived
    http.HTTPChannel.allContentReceived = RequestArrivalDeadline.allContentReceived
    http.HTTPChannel.connectionLost = RequestArrivalDeadline.connectionLost
    # Inside Daphne, whose reactor is installed before it imports the application; elsewhere (tests,
    # a shell) importing the reactor would install one. Once per process.
    if "twisted.internet.reactor" in sys.modules and not getattr(install, "done", False):
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", leave_groups_at_shutdown)
        install.done = True
