"""Who may open a WebSocket: the origin check and the authentication in front of the consumers.

`HostCheck` refuses a handshake addressed to a host not in ALLOWED_HOSTS, as Django refuses such
an HTTP request; `OriginCheck` refuses one that a browser makes from a page of another site
(Django's CSRF protection does not cover WebSockets). `TokenOrSessionAuth` puts the credentials in the
scope: a JWT access token when the client gives one, else the session cookie's key; the
consumers read the user they name (`credentials_user`) in the one trip to the database a
handshake makes, with the task it asks for. The consumers (tasks/consumers.py) decide what a
missing or unauthorised user gets; this module never closes a connection on authentication
grounds, so that clients always learn why with a close code.
"""

from __future__ import annotations

import logging
from importlib import import_module
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import auth
from django.http import parse_cookie
from django.http.request import HttpRequest, split_domain_port, validate_host
from django.utils.http import is_same_domain

from tasks.metrics import websocket_closed_by_server

BEARER_SUBPROTOCOL = "bearer"
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_DISALLOWED_HOST = 4400
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


def host_allowed(host: str) -> bool:
    """Whether a Host header names one of ALLOWED_HOSTS, as HttpRequest.get_host() decides."""
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, _allowed_hosts())


def own_origin(scope) -> str | None:
    """The origin of this site's pages that share the socket's address: the handshake's Host (if
    it is one of ALLOWED_HOSTS) with http for ws and https for wss, or, when SECURE_PROXY_SSL_HEADER
    is set and the proxy sent that header, the scheme it says (as HttpRequest.scheme does)."""
    host = header(scope, b"host")
    if not host or not host_allowed(host):
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


async def refuse_handshake(scope, receive, send, code: int) -> None:
    """Accept the handshake, then close it with `code`, so that the client learns why."""
    await receive()  # websocket.connect
    offered = scope.get("subprotocols") or []
    # A browser that offered a subprotocol fails a handshake that picks none, and would not see the code.
    await send({"type": "websocket.accept", "subprotocol": BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None})
    websocket_closed_by_server(code)
    await send({"type": "websocket.close", "code": code})


class HostCheck:
    """Refuse a WebSocket handshake whose Host is not one of ALLOWED_HOSTS, as Django answers such
    an HTTP request with 400: accepted, then closed with 4400, and logged once (a warning, no
    traceback). A handshake without a Host header is let through, as Django falls back to the
    server's name for HTTP.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        host = header(scope, b"host")
        if host is not None and not host_allowed(host):
            logger.warning("WebSocket %s refused: host %.200r is not in ALLOWED_HOSTS.", scope.get("path"), host)
            return await refuse_handshake(scope, receive, send, CLOSE_DISALLOWED_HOST)
        return await self.inner(scope, receive, send)


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
            return await refuse_handshake(scope, receive, send, CLOSE_FORBIDDEN_ORIGIN)
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


def access_token(raw_token: str | bytes):
    """The validated access token, or None: signature, type and expiry by the same rules as the API
    (simplejwt), all checked without the database, so that a handshake with a bad token costs no
    read. Whether its user may still use it is `token_user`'s question. The API's own class
    (`config.authentication`), so that a signed token whose claims are of the wrong kind (an `exp`
    past year 9999) is refused here as there."""
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    from config.authentication import JWTAuthentication

    raw = raw_token.encode() if isinstance(raw_token, str) else raw_token
    try:
        return JWTAuthentication().get_validated_token(raw)
    except (InvalidToken, TokenError):
        return None


def token_user(token):
    """The user of a validated access token as of now, by simplejwt's user lookup (the same as the
    API's, with its reading of the id: the user exists and is active, and any revocation check it
    is configured for; a user id that is no id, "abc", names nobody), or None."""
    from rest_framework.exceptions import AuthenticationFailed

    from config.authentication import JWTAuthentication

    try:
        return JWTAuthentication().get_user(token)
    except AuthenticationFailed:  # includes simplejwt's InvalidToken
        return None


def _session_user(session_key: str):
    """The user a session names now, by Django's own rules (django.contrib.auth.get_user: the
    session must still exist and not be expired, the user be active, the password unchanged)."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return auth.get_user(request)


def has_credentials(scope) -> bool:
    """Whether the connection offered anything that may authenticate it (decided without the database)."""
    return scope.get("access_token") is not None or bool(scope.get("session_key"))


def credentials_user(scope):
    """The user the connection's credentials name as of now (read from the database: a token's user,
    or the session's), or None when they name nobody who may use them any more: the access token
    expired or was revoked, its user was deactivated or deleted, the session ended (logged out, flushed,
    expired, password changed). A plain function: call it in a worker thread."""
    token = scope.get("access_token")
    if token is not None:
        still_valid = access_token(token.token)  # expiry again: a re-check at the token's expiry must fail
        user = token_user(still_valid) if still_valid is not None else None
    else:
        session_key = scope.get("session_key")
        user = _session_user(session_key) if session_key else None
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user


def current_user(scope):
    """The connection's user as of now, read again from the database (never the scope's cached
    object), or None when its authentication is gone (see `credentials_user`) or names someone
    other than the user the connection was opened for. A plain function: call it in a worker
    thread."""
    connected = scope.get("user")
    user = credentials_user(scope)
    if user is None or connected is None or user.pk != connected.pk:
        return None
    return user


class TokenOrSessionAuth:
    """Put the connection's credentials in the scope: a JWT access token if one is offered, else
    the session cookie's key. The user they name is read by the consumer (`credentials_user`), in
    the same trip to the database as the task it asks for, and put in scope["user"] then.

    Nothing here reads the database: the token's signature, type and expiry are checked here
    (scope["access_token"] is the validated token, None if it is invalid), the session only by
    the consumer. A token that is offered but invalid leaves the connection without credentials:
    the session is not consulted then, so a client never ends up as someone other than the token
    says.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token = offered_token(scope)
        if token is None:
            credentials = {"access_token": None, "session_key": session_key(scope)}
        else:
            credentials = {"access_token": access_token(token) if token else None, "session_key": None}
        return await self.inner({**scope, **credentials, "user": None}, receive, send)


def session_key(scope) -> str | None:
    """The session key of the handshake's session cookie, if it sent one."""
    cookie = header(scope, b"cookie")
    if not cookie:
        return None
    return parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME) or None
