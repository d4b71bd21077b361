"""An SMTP server on 127.0.0.1 that drips one of its answers a byte at a time, for the tests of
the sending deadline (`config.smtp_deadline`).

It speaks just enough SMTP for Django's backend (EHLO, STARTTLS, MAIL, RCPT, DATA, QUIT) and
answers at once, except at `drip_at`: the greeting, the answer to the message ("data"), or a TLS
handshake, implicit ("tls") or after STARTTLS ("starttls"), where it sends the header of a large
TLS record and then filler (`drip_at=None`: a server that answers everything at once). Each byte
comes `drip_seconds` after the last, well inside the client's socket timeout, so only a limit on
the whole sending stops waiting. Bounded: at most `drip_bytes`
bytes are dripped, one connection at a time, and the server stops when the test leaves it.
`done` is set when a conversation ended; `hung_up` then tells whether the client closed the
connection before the drip was over.
"""

from __future__ import annotations

import socket
import threading
import time

GREETING_HEAD = b"220 slow.example.com ESMTP "
TLS_RECORD_HEAD = b"\x16\x03\x03\x40\x00"  # a handshake record of 16 KiB: the client reads until it is whole


class DrippingSMTPServer:
    def __init__(self, *, drip_at: str | None, drip_seconds: float = 0.05, drip_bytes: int = 120):
        assert drip_at in (None, "greeting", "data", "tls", "starttls")
        self.drip_at = drip_at
        self.drip_seconds = drip_seconds
        self.drip_bytes = drip_bytes
        self.dripped = 0
        self.hung_up = False
        self.messages: list[bytes] = []
        self.done = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def __enter__(self) -> DrippingSMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(10)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self._converse(conn)
                except OSError:
                    self.hung_up = True
                finally:
                    self.done.set()

    def _drip(self, conn: socket.socket, head: bytes, tail: bytes = b"") -> bool:
        """`head`, then filler, a byte at a time, then `tail`; False when the client hung up first."""
        filler = b"." * max(0, self.drip_bytes - len(head) - len(tail))
        for byte in head + filler + tail:
            if self._stop.is_set():
                return False
            time.sleep(self.drip_seconds)
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                self.hung_up = True
                return False
            self.dripped += 1
        return True

    def _converse(self, conn: socket.socket) -> None:
        lines = conn.makefile("rb")
        if self.drip_at == "tls":
            conn.recv(4096)  # the ClientHello
            self._drip(conn, TLS_RECORD_HEAD)
            return
        if self.drip_at == "greeting":
            if not self._drip(conn, GREETING_HEAD, b"\r\n"):
                return
        else:
            conn.sendall(GREETING_HEAD + b"\r\n")
        while line := lines.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                extensions = b"250-STARTTLS\r\n" if self.drip_at == "starttls" else b""
                conn.sendall(b"250-slow.example.com\r\n" + extensions + b"250 8BITMIME\r\n")
            elif command == b"STARTTLS":
                conn.sendall(b"220 Go ahead\r\n")
                conn.recv(4096)  # the ClientHello
                self._drip(conn, TLS_RECORD_HEAD)
                return
            elif command.startswith((b"MAIL", b"RCPT", b"RSET", b"NOOP")):
                conn.sendall(b"250 OK\r\n")
            elif command == b"DATA":
                conn.sendall(b"354 End with .\r\n")
                message = bytearray()
                while (part := lines.readline()) not in (b".\r\n", b""):
                    message += part
                self.messages.append(bytes(message))
                if self.drip_at == "data":
                    # a reply of two lines, the first dripped: the client waits for the last one
                    if not self._drip(conn, b"250-queued as 1 ", b"\r\n250 OK\r\n"):
                        return
                else:
                    conn.sendall(b"250 queued\r\n")
            elif command == b"QUIT":
                conn.sendall(b"221 Bye\r\n")
                return
            else:
                conn.sendall(b"502 Not implemented\r\n")
