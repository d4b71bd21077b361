"""Django's SMTP email backend with one time limit for a whole sending.

EMAIL_TIMEOUT bounds each socket step, not a sending: a mail server that drips its greeting or
its answer to the message a byte at a time, each byte inside the timeout, kept a digest job (and
the recipient's lock it holds) for as long as it liked, until django-q2's task timeout killed the
worker. `DeadlineSMTPBackend` gives every sending (open, the messages, close) at most
PRESSROOM_EMAIL_DEADLINE_SECONDS; then the sockets are shut down, which ends any read or write
blocked on them at once (the idea of `tasks.http_deadline.ExchangeDeadline`, reused here), the
connection is closed and the sending raises `SMTPDeadlineExceeded`, an `smtplib.SMTPException`
like any refusal of the server, so its caller handles it as it handles those (a digest stays
unsent for the minute sweep). The backend sees each socket as smtplib opens it, before the
greeting is read and before any TLS handshake, so a server dripping those is cut short as well.

Settings name it for Django's own SMTP backend (`config.settings`). Imports: Django and
`tasks.http_deadline` (the standard library only).
"""

from __future__ import annotations

import functools
import smtplib
import socket
from contextlib import contextmanager

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend

from tasks.http_deadline import ExchangeDeadline


class SMTPDeadlineExceeded(smtplib.SMTPException):
    """The mail server did not finish a sending within the deadline; the connection was closed."""


class _WatchedSMTP(smtplib.SMTP):
    """smtplib's client handing every socket it opens to `watch` before reading from it (the
    constructor connects and reads the greeting)."""

    def __init__(self, *args, watch, **kwargs):
        self._watch = watch
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        self._watch(sock)
        return sock


class _WatchedSMTP_SSL(smtplib.SMTP_SSL, _WatchedSMTP):
    """Implicit TLS. SMTP_SSL's `_get_socket` asks the next class for the plain socket, which is
    `_WatchedSMTP`'s: it is watched before the TLS handshake runs on it."""

    def __init__(self, *args, watch, **kwargs):
        self._watch = watch
        smtplib.SMTP_SSL.__init__(self, *args, **kwargs)  # which calls SMTP.__init__ itself


class DeadlineSMTPBackend(EmailBackend):
    def __init__(self, *args, deadline: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = settings.PRESSROOM_EMAIL_DEADLINE_SECONDS if deadline is None else deadline
        # A copy (dup) of each socket of the connection: TLS takes the original's descriptor over
        # (the original object is detached), the copy still reaches the connection to shut it down.
        self._copies: list[socket.socket] = []
        self._window: ExchangeDeadline | None = None

    @property
    def connection_class(self):
        return functools.partial(_WatchedSMTP_SSL if self.use_ssl else _WatchedSMTP, watch=self._watch)

    def _watch(self, sock: socket.socket) -> None:
        copy = sock.dup()
        self._copies.append(copy)
        if self._window is not None:
            self._window.watch(copy)

    @contextmanager
    def _within_deadline(self):
        """One deadline around the outermost call (send_messages opens and closes inside its own)."""
        with self._lock:
            if self._window is not None:
                yield
                return
            with ExchangeDeadline(self.deadline) as window:
                self._window = window
                for copy in self._copies:  # a connection opened before this call
                    window.watch(copy)
                try:
                    yield
                    if window.expired:
                        # Nothing failed (failing silently, or the reply's code had come in before
                        # the cut: smtplib reads it as the server's answer), but the sockets are shut:
                        # the connection is closed, and the next sending opens a new one.
                        self._abandon()
                except Exception as error:
                    if not window.expired:
                        raise
                    self._abandon()
                    raise SMTPDeadlineExceeded(
                        f"The mail server {self.host}:{self.port} did not finish within {self.deadline} s "
                        f"(PRESSROOM_EMAIL_DEADLINE_SECONDS); the connection was closed. "
                        f"({type(error).__name__}: {error})") from error
                finally:
                    self._window = None
                    if self.connection is None and self._partial_connection is None:
                        self._close_copies()  # the sending closed its connection, or never had one

    def _abandon(self) -> None:
        """Close what is left of a connection cut short; its sockets are shut, so nothing waits."""
        for connection in (self._partial_connection, self.connection):
            if connection is not None:
                try:
                    connection.close()
                except OSError:
                    pass
        self._partial_connection = self.connection = None

    def _close_copies(self) -> None:
        copies, self._copies = self._copies, []
        for copy in copies:
            copy.close()

    def open(self):
        with self._within_deadline():
            return super().open()

    def send_messages(self, email_messages):
        with self._within_deadline():
            return super().send_messages(email_messages)

    def close(self):
        with self._within_deadline():  # QUIT waits for the server's answer too
            super().close()
