"""One time limit for a whole outbound HTTP exchange made with httpx.

httpx's timeouts bound each network step (connect, each read, each write), not the exchange: a
server that sends its status line and headers one byte a second restarts the read timeout with
every byte and keeps the request alive for as long as it likes. Checking the clock between body
chunks does not help either, because httpx reads the whole header block before it returns.

`ExchangeDeadline` is that limit. Its `trace` goes into each request's extensions (httpcore
reports every connection it opens there); when the time is up, a timer thread shuts down the
sockets of those connections, which ends any read or write blocked on them at once (httpx then
raises a transport error), and `expired` tells the caller why. Research fetches and webhook
deliveries use it; so does the SMTP backend (`config.smtp_deadline`), which hands it the sockets
smtplib opens through `watch`, since mail servers can drip bytes as well. Imports: the standard
library only.

    with ExchangeDeadline(20) as deadline:
        request = client.build_request("GET", url, extensions={"trace": deadline.trace})
        ...
"""

from __future__ import annotations

import socket
import threading
import time

OPENED_EVENTS = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})


class ExchangeDeadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> ExchangeDeadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()

    def passed(self) -> bool:
        """Whether the time is up (the timer may not have fired yet)."""
        return self.expired or time.monotonic() >= self.ends_at

    def trace(self, event: str, info: dict) -> None:
        """httpcore's `trace` extension: remember the socket of every connection opened."""
        if event not in OPENED_EVENTS:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            self.watch(sock)

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the time is up (at once if it already is)."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:  # opened just as the time ran out
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
