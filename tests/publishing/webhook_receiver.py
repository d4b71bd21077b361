"""A webhook receiver written with the standard library alone, as a customer would write one.

It verifies each delivery's `Pressroom-Signature` exactly as the README's recipe says (hmac,
hashlib, time; nothing from Pressroom), records what it got, and answers with the next status
of a script (then 200). It listens on 127.0.0.1, on the first free port of this helper's range.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS = range(18600, 18650)
TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """The README's recipe: HMAC-SHA256 over `t + "." + body`, compared in constant time."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), fields.get("v1", "").encode("ascii", "replace"))


class Receiver:
    def __init__(self, secret: str, statuses=(), *, delay: float = 0.0, location: str = "", answer: bytes = b"",
                 drip: float = 0.0):
        self.secret = secret
        self.statuses = list(statuses)
        self.delay = delay
        self.drip = drip  # > 0: the status line and headers are sent a byte at a time, this far apart
        self.location = location
        self.answer = answer
        self.deliveries: list[dict] = []
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/pressroom"

    def __enter__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append({
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": body,
                    "json": json.loads(body),
                    "verified": verify(receiver.secret, self.headers.get("Pressroom-Signature", ""), body),
                })
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.drip:
                    self._drip_headers()
                    return
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                answer = receiver.answer or (b"ok" if status < 300 else b"receiver says no " * 1000)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                try:
                    self.wfile.write(answer)
                except OSError:
                    pass

            def _drip_headers(self):
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"p" * 40 + b"\r\n\r\n"
                for byte in head:  # bounded: ~60 bytes, and it ends when the client hangs up
                    time.sleep(receiver.drip)
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, format, *args):
                return None

        for port in PORTS:
            try:
                self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("No free port in 18600-18649")
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
