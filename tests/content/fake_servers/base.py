"""The fake servers' common part: a threaded HTTP server on 127.0.0.1 that records every request
and stops within a bounded time, waking responses that hang or stream slowly."""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SHUTDOWN_SECONDS = 5.0


def gzip_bomb(prefix: bytes, size: int, *, layers: int = 1) -> bytes:
    """`prefix` and then "a"s, `size` bytes in all, gzipped `layers` times over: about a thousandth
    of `size` on the wire (far less with two layers). Built a megabyte at a time, so the test
    itself never holds `size` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts, left = [compressor.compress(prefix)], size - len(prefix)
    while left > 0:
        block = min(left, 1_000_000)
        parts.append(compressor.compress(b"a" * block))
        left -= block
    body = b"".join(parts) + compressor.flush()
    for _ in range(layers - 1):
        outer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        body = outer.compress(body) + outer.flush()
    return body


def peak_memory(call: Callable[[], object]) -> int:
    """The most memory Python held at once (tracemalloc) while `call()` ran, whatever it raised."""
    tracemalloc.start()
    try:
        try:
            call()
        except Exception:  # noqa: BLE001 - the memory is what is measured, not the outcome
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


class Exchange:
    """One request and the means to answer it, possibly slowly and in pieces."""

    def __init__(self, handler: BaseHTTPRequestHandler, request: RecordedRequest, stopping: threading.Event):
        self._handler = handler
        self.request = request
        self._stopping = stopping
        self.bytes_sent = 0

    def respond(
        self, status: int, body: bytes | str = b"", *, content_type: str = "text/plain", headers: dict | None = None
    ):
        data = body.encode() if isinstance(body, str) else body
        self.start(status, {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})})
        self.write(data)

    def respond_json(self, status: int, payload, *, headers: dict | None = None):
        self.respond(status, json.dumps(payload), content_type="application/json", headers=headers)

    def start(self, status: int, headers: dict):
        self._handler.send_response(status)
        for name, value in headers.items():
            self._handler.send_header(name, value)
        self._handler.end_headers()

    def write(self, data: bytes | str) -> bool:
        """Send `data` now; False when the client has gone away or the server is stopping."""
        if self._stopping.is_set():
            return False
        try:
            self._handler.wfile.write(data.encode() if isinstance(data, str) else data)
            self._handler.wfile.flush()
        except OSError:
            return False
        self.bytes_sent += len(data)
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep, but wake when the server stops; False if it did."""
        return not self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # FakeServer joins the handler threads itself, with a bound

    def __init__(self, fake: FakeServer):
        self.fake = fake
        self.handler_threads: list[threading.Thread] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        self.handler_threads.append(thread)
        thread.start()

    def handle_error(self, request, client_address):
        import sys

        self.fake.errors.append(sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: a streamed answer ends when the connection closes, as with many real servers.
    protocol_version = "HTTP/1.0"
    timeout = SHUTDOWN_SECONDS  # a client that stops sending cannot hold a thread forever

    def _dispatch(self):
        fake: FakeServer = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        fake.requests.append(request)
        exchange = Exchange(self, request, fake.stopping)
        try:
            fake.handle(exchange)
        except OSError:
            pass  # the client went away mid-answer: what the cancellation and size-cap tests do
        finally:
            fake.bytes_sent[request.path] = fake.bytes_sent.get(request.path, 0) + exchange.bytes_sent

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):
        return None


class FakeServer:
    """A threaded HTTP server on 127.0.0.1; subclasses implement `handle(exchange)`."""

    def __init__(self):
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.bytes_sent: dict[str, int] = {}
        self.stopping = threading.Event()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def handle(self, exchange: Exchange) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._server = _HTTPServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        for thread in [self._thread, *self._server.handler_threads]:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread for thread in self._server.handler_threads if thread.is_alive()]
        if alive and exc_info[0] is None:
            raise AssertionError(f"{type(self).__name__}: {len(alive)} handler thread(s) did not stop.")
        return False
