"""Who may open a WebSocket: the origin check and the authentication in front of the consumers.

`OriginCheck` refuses a handshake that a browser makes from a page of another site (Django's
CSRF protection does not cover WebSockets). `TokenOrSessionAuth` puts the user in the scope: from
a JWT access token when the client gives one, else from the session cookie. The consumers
(tasks/consumers.py) decide what a missing or unauthorised user gets; this module never closes a
connection on authentication grounds, so that clients always learn why with a close code.
"""

from __future__ import annotations

import logging
from importlib import import_module
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.http.request import HttpRequest, split_domain_port, validate_host
from django.utils.http import is_same_domain

BEARER_SUBPROTOCOL = "bearer"
CLOSE_FORBIDDEN_ORIGIN = 4403
DEFAULT_PORTS = {"http": 80, "https": 443}

logger = logging.getLogger(__name__)


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:  # as HttpRequest.get_host() does
        return [".localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def normalised_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case without the scheme's default port, as browsers send
    it; None if `origin` is not an http(s) origin."""
    try:
        parsed = urlsplit(origin)
        port = parsed.port
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path or parsed.query:
        return None
    netloc = parsed.netloc.lower().rsplit("@", 1)[-1]
    if port is not None and DEFAULT_PORTS[parsed.scheme] == port:
        netloc = netloc.rsplit(":", 1)[0]
    return f"{parsed.scheme}://{netloc}"


def own_origin(scope) -> str | None:
    """The origin of this site's pages that share the socket's address: the handshake's Host (if
    it is one of ALLOWED_HOSTS) with http for ws and https for wss, or, when SECURE_PROXY_SSL_HEADER
    is set and the proxy sent that header, the scheme it says (as HttpRequest.scheme does)."""
    host = header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = header(scope, name.removeprefix("HTTP_").replace("_", "-").lower().encode())
        if forwarded is not None:
            scheme = "https" if forwarded.split(",", 1)[0].strip() == secure_value else "http"
    return normalised_origin(f"{scheme}://{host}")


def origin_allowed(origin: str, scope) -> bool:
    """Allowed: the socket's own origin (scheme, host and port: `own_origin`), or one listed in
    CSRF_TRUSTED_ORIGINS, exactly or by Django's `https://*.example.com` pattern."""
    origin = normalised_origin(origin)
    if origin is None:
        return False
    if origin == own_origin(scope):
        return True
    trusted = [normalised_origin(entry) for entry in settings.CSRF_TRUSTED_ORIGINS if "*" not in entry]
    if origin in trusted:
        return True
    parsed = urlsplit(origin)
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in entry:
            pattern = urlsplit(entry.lower())
            if pattern.scheme == parsed.scheme and is_same_domain(parsed.netloc, pattern.netloc.lstrip("*")):
                return True
    return False


class OriginCheck:
    """Refuse a WebSocket handshake whose Origin is not one of this site's: accepted, then closed
    with 4403, and logged once (a warning, no traceback).

    A handshake without an Origin header is let through: browsers always send one, so its
    absence means a non-browser client (a script with a token), which cross-site requests cannot
    pass for. channels' AllowedHostsOriginValidator is not used because it refuses those clients,
    ignores scheme and port and does not know CSRF_TRUSTED_ORIGINS.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        origin = header(scope, b"origin")
        if origin is not None and not origin_allowed(origin, scope):
            logger.warning("WebSocket %s refused: origin %r is not one of this site's (own origin %s).",
                           scope.get("path"), origin, own_origin(scope))
            await receive()  # websocket.connect
            offered = scope.get("subprotocols") or []
            # A browser that offered a subprotocol fails a handshake that picks none, and would not see the code.
            await send({"type": "websocket.accept",
                        "subprotocol": BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None})
            await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN_ORIGIN})
            return None
        return await self.inner(scope, receive, send)


def offered_token(scope) -> str | None:
    """The access token of `?token=` or of the subprotocols ["bearer", token]; None if none given.

    A present but empty `token` parameter counts as a (bad) token, not as none.
    """
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if "token" in query:
        return query["token"][0]
    return _bearer_token(scope.get("subprotocols") or ())


def _bearer_token(subprotocols: Iterable[str]) -> str | None:
    subprotocols = list(subprotocols)
    if BEARER_SUBPROTOCOL in subprotocols:
        position = subprotocols.index(BEARER_SUBPROTOCOL)
        return subprotocols[position + 1] if position + 1 < len(subprotocols) else ""
    return None


def validated_token(raw_token: str | bytes):
    """(user, validated token) for a valid access token, by the same rules as the API (signature,
    type, expiry, then simplejwt's user lookup: active, and any revocation check it is configured
    for), read afresh from the database; (None, None) otherwise."""
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.authentication import JWTAuthentication

    authentication = JWTAuthentication()
    raw = raw_token.encode() if isinstance(raw_token, str) else raw_token
    try:
        token = authentication.get_validated_token(raw)
        return authentication.get_user(token), token
    except AuthenticationFailed:  # includes simplejwt's InvalidToken
        return None, None


@database_sync_to_async
def user_for_token(raw_token: str):
    """(user, validated token) for a valid access token; else (anonymous, None)."""
    user, token = validated_token(raw_token)
    return (user, token) if user is not None else (AnonymousUser(), None)


def _session_user(session_key: str):
    """The user a session names now, by Django's own rules (django.contrib.auth.get_user: the
    session must still exist and not be expired, the user be active, the password unchanged)."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return auth.get_user(request)


def current_user(scope):
    """The connection's user as of now, read again from the database (never the scope's cached
    object), or None when its authentication is gone: the access token expired or was revoked, the
    session ended (logged out, flushed, expired), the user was deactivated or is someone else now.
    A plain function: call it in a worker thread (database_sync_to_async)."""
    connected = scope.get("user")
    token = scope.get("access_token")
    if token is not None:
        user, _ = validated_token(token.token)
    else:
        session = scope.get("session")
        session_key = session.session_key if session is not None else None
        user = _session_user(session_key) if session_key else None
    if user is None or not user.is_authenticated or not user.is_active or connected is None or user.pk != connected.pk:
        return None
    return user


class TokenOrSessionAuth:
    """Set scope["user"] from a JWT access token if one is offered, else from the session.

    A token that is offered but invalid or expired leaves the user anonymous: the session is not
    consulted then, so a client never ends up as someone other than the token says. The validated
    token is kept in scope["access_token"] (None for a session), for the consumers' re-checks.
    """

    def __init__(self, inner):
        self.inner = inner
        self.by_session = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        token = offered_token(scope)
        if token is None:
            return await self.by_session({**scope, "access_token": None}, receive, send)
        user, validated = await user_for_token(token) if token else (AnonymousUser(), None)
        return await self.inner({**scope, "user": user, "access_token": validated}, receive, send)
