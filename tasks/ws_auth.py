"""Who may open a WebSocket: the origin check and the authentication in front of the consumers.

`OriginCheck` refuses a handshake that a browser makes from a page of another site (Django's
CSRF protection does not cover WebSockets). `TokenOrSessionAuth` puts the user in the scope: from
a JWT access token when the client gives one, else from the session cookie. The consumers
(tasks/consumers.py) decide what a missing or unauthorised user gets; this module never closes a
connection on authentication grounds, so that clients always learn why with a close code.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

BEARER_SUBPROTOCOL = "bearer"


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def origin_allowed(origin: str) -> bool:
    """An origin is allowed when its host is one of ALLOWED_HOSTS (port ignored, with Django's
    patterns) or it is listed in CSRF_TRUSTED_ORIGINS (with Django's `https://*.example.com`)."""
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in trusted:
            pattern = urlsplit(trusted)
            if pattern.scheme == parsed.scheme and is_same_domain(parsed.netloc, pattern.netloc.lstrip("*")):
                return True
    domain, _port = split_domain_port(parsed.netloc)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:  # as HttpRequest.get_host() does
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed_hosts)


class OriginCheck:
    """Refuse (HTTP 403) a WebSocket handshake whose Origin is not one of this site's.

    A handshake without an Origin header is let through: browsers always send one, so its
    absence means a non-browser client (a script with a token), which cross-site requests cannot
    pass for. channels' AllowedHostsOriginValidator is not used because it refuses those clients
    and does not know CSRF_TRUSTED_ORIGINS.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        origin = header(scope, b"origin")
        if origin is not None and not origin_allowed(origin):
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})  # closing before accepting: the server answers 403
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


@database_sync_to_async
def user_for_token(raw_token: str):
    """The active user a valid access token names, by the same rules as the API; else anonymous."""
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.authentication import JWTAuthentication

    authentication = JWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(raw_token.encode()))
    except AuthenticationFailed:  # includes simplejwt's InvalidToken
        return AnonymousUser()


class TokenOrSessionAuth:
    """Set scope["user"] from a JWT access token if one is offered, else from the session.

    A token that is offered but invalid or expired leaves the user anonymous: the session is not
    consulted then, so a client never ends up as someone other than the token says.
    """

    def __init__(self, inner):
        self.inner = inner
        self.by_session = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        token = offered_token(scope)
        if token is None:
            return await self.by_session(scope, receive, send)
        user = await user_for_token(token) if token else AnonymousUser()
        return await self.inner({**scope, "user": user}, receive, send)
