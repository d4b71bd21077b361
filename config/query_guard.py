"""Refuse a NUL character in any query parameter, path or request header with 400, before a view or
the database sees it.

PostgreSQL cannot store or compare text containing NUL, so `?status__exact=%00` in an admin list
filter, `term=%00` in the admin autocomplete or any API filter would end in a 500 DataError. No
page of the admin or the editorial API has a use for NUL in a URL: this is the one place that says
so, for the path too (`/admin/django_q/success/%00/change/` reached the database as a primary
key). Under /api/ the answer has the API's error shape. The public blog and the public posts API
(`/api/posts…`) are left alone: they promise readers an answer for any query (a search for NUL
answers 200, a NUL page number gives a page) and clean text queries themselves.

Headers are checked everywhere, the blog included: HTTP forbids NUL in a header value, a NUL in
a session cookie reaches a database query, and Django's own request constructor fails on one in
`Content-Type` (a 500 before any middleware runs). So `config.wsgi` and `config.asgi` wrap the
application (`RejectNulHeadersWsgi`, `RejectNulHeadersAsgi`), and `RejectNulHeadersMiddleware`
applies the same rule to requests that reach Django another way (its test client). A request the
wrappers refuse never reaches the request log's middleware, so they write its `pressroom.request`
line themselves.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.encoding import escape_uri_path

from config.api import error_body

MESSAGE = "Query parameters must not contain NUL characters."
PATH_MESSAGE = "The path must not contain NUL characters."
HEADER_MESSAGE = "Request headers must not contain NUL characters."
GUARDED = ("/admin/", "/api/")
PUBLIC = ("/api/posts",)

request_logger = logging.getLogger("pressroom.request")  # config/request_id.py's lines


class RejectNulQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        guarded = request.path.startswith(GUARDED) and not request.path.startswith(PUBLIC)
        if not guarded:
            return self.get_response(request)
        if "\x00" in request.path:
            return _refusal(request.path, PATH_MESSAGE)
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return _refusal(request.path, MESSAGE)
        return self.get_response(request)


def _refusal(path: str, message: str):
    if path.startswith("/api/"):
        return JsonResponse(error_body("invalid", message), status=400)
    return HttpResponseBadRequest(message)


def nul_in_headers(environ) -> bool:
    """Whether a header of this WSGI environ (or `request.META`) holds a NUL character."""
    return any(isinstance(value, str) and "\x00" in value
               for key, value in environ.items() if key.startswith(("HTTP_", "CONTENT_")))


class RejectNulHeadersMiddleware:
    """The header rule inside Django too, before sessions or authentication read a header: for
    requests that reach Django without the wrappers below (its test client, another server)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if nul_in_headers(request.META):
            content_type, body = _header_refusal(request.path)  # its line is RequestIdMiddleware's
            return HttpResponseBadRequest(body, content_type=content_type.decode())
        return self.get_response(request)


def _header_refusal(path: str) -> tuple[bytes, bytes]:
    """The content type and body of the 400 for a header with NUL at `path`."""
    if path.startswith("/api/"):
        return b"application/json", json.dumps(error_body("invalid", HEADER_MESSAGE)).encode()
    return b"text/plain; charset=utf-8", HEADER_MESSAGE.encode()


def _log_header_refusal(method: str, path: str) -> None:
    """The request log's line of a request the wrappers below refused."""
    shown = escape_uri_path(path)
    request_logger.info("%s %s 400 (a request header holds NUL)", method, shown,
                        extra={"method": method, "path": shown, "status": 400})


class RejectNulHeadersWsgi:
    """Wraps the WSGI application: a request with NUL in any header is a 400, never a 500."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if nul_in_headers(environ):
            _log_header_refusal(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
            content_type, body = _header_refusal(environ.get("PATH_INFO", ""))
            start_response("400 Bad Request", [("Content-Type", content_type.decode()),
                                               ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


class RejectNulHeadersAsgi:
    """Wraps the ASGI application for HTTP: a request with NUL in any header is a 400, never a 500."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and any(b"\x00" in value for _, value in scope.get("headers", ())):
            _log_header_refusal(scope.get("method", ""), scope.get("path", ""))
            content_type, body = _header_refusal(scope.get("path", ""))
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
