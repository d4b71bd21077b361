"""What any client could do to Daphne before Pressroom's code ran (config/daphne_guards.py): move
the site under a prefix of its choosing with `Daphne-Root-Path` (and poison the blog's page cache
with it), make a WebSocket handshake answer 500 with a non-ASCII subprotocol, and grow Daphne's
memory by every frame sent to a WebSocket it never reads."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import psutil
import pytest
from asgiref.sync import async_to_sync
from autobahn.websocket.types import ConnectionDeny
from daphne import ws_protocol
from prometheus_client import REGISTRY
from twisted.internet import abstract
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web import http

from config.daphne_guards import (
    REQUEST_ARRIVAL_SECONDS, REQUEST_BODY_MAX_BYTES, GuardedWebRequest, GuardedWebSocketProtocol, ServedAtRoot,
    install, unsent_bytes
)
from tests.processes import WebServer, raw_get, raw_request, wait_for
from tests.tasks.websocket_support import postgres_layer  # noqa: F401 (a fixture)

FEED_LINK = re.compile(rb'href="([^"]*)feeds/rss/"')


def test_the_root_path_a_client_chose_is_dropped():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope)

    async_to_sync(ServedAtRoot(app))({"type": "http", "path": "/", "root_path": "//evil.example"}, None, None)
    async_to_sync(ServedAtRoot(app))({"type": "websocket", "path": "/ws/tasks"}, None, None)
    assert seen[0] == {"type": "http", "path": "/", "root_path": ""}
    assert seen[1] == {"type": "websocket", "path": "/ws/tasks"}


class _Request:
    def __init__(self, headers):
        self.headers = headers


@pytest.mark.parametrize("offered", ["\xe9t\xe9", "проток", "chat, b\xe9arer"])
def test_a_non_ascii_subprotocol_is_refused_with_400_before_daphne_registers_the_connection(offered):
    protocol = GuardedWebSocketProtocol()
    with pytest.raises(ConnectionDeny) as refused:
        protocol.onConnect(_Request({"sec-websocket-protocol": offered}))
    assert refused.value.code == 400
    protocol.onClose(False, 1006, "")  # Daphne's onClose would look the connection up: it is never registered


def test_the_asgi_application_installs_the_guarded_protocol():
    import config.asgi  # noqa: F401 (Daphne imports it before it builds its factory)

    assert ws_protocol.WebSocketFactory.protocol is GuardedWebSocketProtocol


def _handshake(port: int, *headers: bytes) -> bytes:
    return raw_request(port, b"GET /ws/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       + b"".join(h + b"\r\n" for h in headers) + b"\r\n", until_closed=False)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_daphne_serves_the_site_at_its_root_whatever_the_client_says(tmp_path):
    """Before: the first page rendered with the client's prefix on its feed links, and the page
    cache served it so to the next reader; the WebSocket answered 500 to the same header."""
    server = WebServer(tmp_path, name="daphne-root-path", env={"ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
    try:
        server.wait_until_ready()
        poisoned = raw_get(server.port, "/", b"Daphne-Root-Path: //evil.example")
        assert poisoned.startswith(b"HTTP/1.1 200"), poisoned[:300]
        assert set(FEED_LINK.findall(poisoned)) == {b"/"}, FEED_LINK.findall(poisoned)
        assert set(FEED_LINK.findall(raw_get(server.port, "/"))) == {b"/"}  # the next reader's page, from the cache
        assert _handshake(server.port, b"Daphne-Root-Path: /elsewhere").startswith(b"HTTP/1.1 101")
        wait_for(lambda: "closed 4401" in server.output, timeout=10, message="the socket to be routed as usual")
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("offered", [b"\xe9t\xe9", "проток".encode()])
def test_daphne_refuses_a_non_ascii_subprotocol_with_400_and_serves_on(tmp_path, offered):
    server = WebServer(tmp_path, name="daphne-subprotocol", env={"ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
    try:
        server.wait_until_ready()
        assert _handshake(server.port, b"Sec-WebSocket-Protocol: " + offered).startswith(b"HTTP/1.1 400 ")
        assert _handshake(server.port, b"Sec-WebSocket-Protocol: chat").startswith(b"HTTP/1.1 101")
    finally:
        server.stop()
    assert "Traceback" not in server.output and "ERROR" not in server.output, server.output[-3000:]


PART_NAMED_BY_RFC2231 = b"--b\r\nContent-Disposition: form-data; name*=UTF-8''abc\r\n\r\nx\r\n--b--\r\n"
MULTIPART_RFC2231 = (b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: "
                     + str(len(PART_NAMED_BY_RFC2231)).encode() + b"\r\n\r\n" + PART_NAMED_BY_RFC2231)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_daphne_answers_what_twisted_dropped_without_an_answer(tmp_path, editor):
    """A multipart part named the RFC 2231 way, a request line or a header over Twisted's 16 KiB,
    and a WebSocket message over Daphne's size limit: each was a dropped connection."""
    from rest_framework_simplejwt.tokens import AccessToken
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect

    server = WebServer(tmp_path, name="daphne-dropped", env={"ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
    try:
        server.wait_until_ready()
        multipart = raw_request(server.port, MULTIPART_RFC2231)
        long_line = raw_get(server.port, "/search/?q=" + "a" * 17_000)
        long_header = raw_get(server.port, "/healthz", b"X-Junk: " + b"a" * 17_000)
        with connect(f"ws://127.0.0.1:{server.port}/ws/tasks?token={AccessToken.for_user(editor)}",
                     max_size=None, open_timeout=10) as socket:
            socket.recv(timeout=10)  # the snapshot
            socket.send("a" * 2_000_000)
            with pytest.raises(ConnectionClosedError) as closed:
                socket.recv(timeout=10)
        still_serving = raw_get(server.port, "/healthz")
    finally:
        server.stop()

    assert multipart.startswith(b"HTTP/1.1 "), multipart[:200]  # Django's answer, whatever it is
    assert long_line.startswith(b"HTTP/1.1 414 URI Too Long\r\n"), long_line[:200]
    assert long_header.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), long_header[:200]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009, closed.value  # "message too big"
    assert still_serving.startswith(b"HTTP/1.1 200"), still_serving[:200]
    assert "Traceback" not in server.output, server.output[-3000:]


class _UnflushedTransport(abstract.FileDescriptor):
    """Twisted's own write buffer (what a TCP transport keeps until the kernel takes it), never flushed."""

    connected = True

    def startWriting(self):
        pass  # nothing reaches a socket: everything written stays unsent


class _SocketRequest:
    path = "/ws/tasks"


def _open_protocol(transport) -> GuardedWebSocketProtocol:
    """An open socket's protocol whose frames go to `transport` as autobahn writes them (nothing
    once the connection is closing) and whose close frame only changes its state."""
    protocol = GuardedWebSocketProtocol()
    protocol.state = protocol.STATE_OPEN
    protocol.transport = transport
    protocol.request = _SocketRequest()
    protocol.client_addr = None
    protocol.closes = []

    def send_message(payload, binary=False):
        if protocol.state == protocol.STATE_OPEN:
            transport.write(payload)

    def send_close_frame(code=None, reasonUtf8=None, isReply=False):
        protocol.closes.append(code)
        protocol.state = protocol.STATE_CLOSING

    protocol.sendMessage, protocol.sendCloseFrame = send_message, send_close_frame
    return protocol


def closed_by_server(code: int) -> float:
    return REGISTRY.get_sample_value("pressroom_websocket_closed_by_server_total", {"code": str(code)}) or 0.0


def test_the_unsent_bytes_are_what_twisted_holds_in_its_write_buffer():
    transport = _UnflushedTransport()
    transport.write(b"a" * 1000)
    transport.writeSequence([b"b" * 500, b"c" * 24])
    assert unsent_bytes(transport) == 1524
    wrapper = type("TLSWrapper", (), {"transport": transport})()  # a wrapping transport: the TCP one under it
    assert unsent_bytes(wrapper) == 1524


def test_a_socket_holding_more_than_the_bound_unsent_is_closed_with_1013_and_sent_nothing_more(settings):
    settings.PRESSROOM_WS_SEND_BUFFER_BYTES = 64 * 1024
    closed_before = closed_by_server(1013)
    transport = _UnflushedTransport()
    protocol = _open_protocol(transport)
    frame = "x" * 1000
    for _ in range(500):  # 500 kB for a client that reads nothing
        protocol.serverSend(frame)

    assert protocol.closes == [1013]
    assert unsent_bytes(transport) == 66 * 1000  # up to the first frame past 64 kB, then nothing
    assert closed_by_server(1013) == closed_before + 1, "counted once, in pressroom_websocket_closed_by_server_total"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_daphne_memory_stays_bounded_while_websockets_it_sends_to_read_nothing(tmp_path, editor, postgres_layer):  # noqa: F811
    """Before: ten sockets of one user that never read, watching /ws/tasks while 6,000 events of
    1.5 kB were emitted (about 10 MB a socket, of which the kernel takes a few), grew Daphne's
    peak memory by 85 MB, and twenty sockets with 10,000 events by 229 MB: Twisted kept every frame
    until autobahn's ping timeout dropped the socket. Now each socket holds at most the bound (here
    256 kB) and is closed: 19 MB, most of it the events passing through the process."""
    from tasks.broadcaster import broadcaster
    from tests.factories import submit_task
    from tests.tasks.websocket_support import record, token_for

    limit, sockets, events = 256 * 1024, 10, 6000
    task = submit_task(created_by=editor)
    server = WebServer(tmp_path, name="daphne-unread", env={
        "ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1", "REDIS_URL": "",  # the PostgreSQL layer, as here
        "PRESSROOM_WS_SEND_BUFFER_BYTES": str(limit), "PRESSROOM_WS_MAX_SOCKETS_PER_USER": str(sockets),
    })
    clients = []
    try:
        server.wait_until_ready()
        for _ in range(sockets):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            clients.append(client)
            client.sendall(f"GET /ws/tasks?token={token_for(editor)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode())
            _read_snapshot(client)  # and never read again
        daphne = psutil.Process(server.process.pid)
        before = _peak_rss(daphne)
        for _ in range(events):
            record(task, "x" * 1500)
        assert broadcaster().flush(60)
        wait_for(lambda: server.output.count("bytes unsent") >= sockets, timeout=30,
                 message=f"the {sockets} sockets closed for what they left unread")
        grown = _peak_rss(daphne) - before
    finally:
        for client in clients:
            client.close()
        server.stop()
    assert grown < 40_000_000, f"Daphne's peak RSS grew by {grown:,} bytes"


def _read_snapshot(client: socket.socket) -> None:
    """Read the handshake's answer and the first bytes of the snapshot frame after it."""
    received = b""
    while b"\r\n\r\n" not in received or received.endswith(b"\r\n\r\n"):
        chunk = client.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 101"), received[:200]


def _peak_rss(process: psutil.Process) -> int:
    """The process's highest resident memory so far (VmHWM), in bytes."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def _http_channel(clock: Clock) -> tuple[http.HTTPChannel, StringTransport]:
    install()  # as config/asgi.py does in Daphne
    channel = http.HTTPChannel()
    channel.callLater = clock.callLater  # Twisted's idle timeout and the deadline alike
    transport = StringTransport()
    channel.makeConnection(transport)
    return channel, transport


@pytest.mark.parametrize("start, trickle", [
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Junk: a\r\n"),  # headers, a line at a time
    (b"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{", b" "),  # a body
])
def test_a_request_that_has_not_arrived_whole_in_time_is_answered_408_and_closed(start, trickle):
    """Before: a byte every 40 s kept the connection for good (Twisted's only limit is 60 s without
    a byte); 600 such connections from one address were all open after 95 s."""
    clock = Clock()
    channel, transport = _http_channel(clock)
    channel.dataReceived(start)
    for _ in range(REQUEST_ARRIVAL_SECONDS // 40):
        clock.advance(40)
        assert not transport.disconnecting
        channel.dataReceived(trickle)
    clock.advance(REQUEST_ARRIVAL_SECONDS)
    assert transport.value().startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert transport.disconnecting


def test_a_request_that_arrived_whole_has_no_deadline_left():
    clock = Clock()
    channel, transport = _http_channel(clock)
    channel.dataReceived(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert channel.arrival_deadline is None  # handed to the application, which takes its time
    clock.advance(REQUEST_ARRIVAL_SECONDS * 2)
    assert not transport.value().startswith(b"HTTP/1.1 408")


class _RecordedRequest(GuardedWebRequest):
    """The guarded request without Daphne's server behind it: what reaches the application is noted."""

    received: list = []

    def __init__(self, *args, **kwargs):
        http.Request.__init__(self, *args, **kwargs)  # Daphne's own would register with its server

    def process(self):
        self.received.append(self.content.read())


def _body_channel() -> tuple[http.HTTPChannel, StringTransport]:
    channel, transport = _http_channel(Clock())
    channel.requestFactory = _RecordedRequest
    _RecordedRequest.received = []
    return channel, transport


@pytest.mark.parametrize("request_start, body", [
    (f"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {REQUEST_BODY_MAX_BYTES + 1}"
     "\r\n\r\n".encode(), b""),
    (b"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
     b"".join(b"100000\r\n" + b"a" * 0x100000 + b"\r\n" for _ in range(11))),  # 11 MiB, no length declared
])
def test_a_body_larger_than_the_bound_is_answered_413_and_never_stored_whole(request_start, body):
    """Before: Twisted stored any body whole before Daphne saw the request: one POST declaring 500 MB
    wrote 500 MB to /tmp in two seconds."""
    channel, transport = _body_channel()
    channel.dataReceived(request_start)
    channel.dataReceived(body)
    assert transport.value().startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert transport.disconnecting
    assert _RecordedRequest.received == []
    request = channel.requests[0]
    assert request.content.seek(0, 2) <= REQUEST_BODY_MAX_BYTES


def test_a_body_within_the_bound_reaches_the_application_whole():
    channel, transport = _body_channel()
    body = b"a" * REQUEST_BODY_MAX_BYTES
    channel.dataReceived(f"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}"
                         "\r\n\r\n".encode() + body)
    assert _RecordedRequest.received == [body]
    assert not transport.disconnecting


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_daphne_stopped_with_sockets_open_leaves_no_group_membership(tmp_path, editor):
    """Before: Daphne cancels its consumers as it stops, they leave no group, and on the PostgreSQL
    layer each restart left its open sockets' memberships (40 after a few probes), each of which
    had a row stored for every event of the site after it."""
    from django.db import connection

    from tests.tasks.websocket_support import token_for

    server = WebServer(tmp_path, name="daphne-stopped", env={
        "ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1", "REDIS_URL": "",  # the PostgreSQL layer
    })
    clients = []
    try:
        server.wait_until_ready()
        for _ in range(5):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            clients.append(client)
            client.sendall(f"GET /ws/tasks?token={token_for(editor)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode())
            _read_snapshot(client)

        def memberships() -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM channels_postgres_groupchannel")
                return cursor.fetchone()[0]

        assert memberships() == 5
        server.stop()  # SIGTERM, as a service manager stops it
    finally:
        for client in clients:
            client.close()
        server.stop()
    assert memberships() == 0, server.output[-3000:]


@pytest.mark.parametrize("code", [1011, 4404, None])
def test_the_application_closes_a_socket_with_the_code_it_chose(code):
    """The consumers close with 1011 when the database cannot say whether a watcher may still watch:
    autobahn's sendClose raised for it (only 1000 and 3000–4999), and the socket stayed open."""
    protocol = _open_protocol(_UnflushedTransport())
    protocol.handle_reply({"type": "websocket.close", **({} if code is None else {"code": code})})
    assert protocol.closes == [1000 if code is None else code]
