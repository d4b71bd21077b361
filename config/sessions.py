"""Django's database sessions, with the session key checked for what Django makes of one.

Django makes a key of 32 lowercase letters and digits, but it only checks that a key it is sent
has eight characters or more; the cookie parser also turns a quoted `"\\000…"` into a real NUL,
which PostgreSQL cannot compare, so a hostile cookie was a 500 on every page and a failed
WebSocket handshake. A key of anything but ASCII letters and digits is no session at all: the
visitor is anonymous, as with a key that matches no row. The admin, the API's session
authentication and Channels' session middleware all build their store from SESSION_ENGINE.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key) -> bool:
        return bool(super()._validate_session_key(key)) and key.isascii() and key.isalnum()
