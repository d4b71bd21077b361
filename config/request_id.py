"""A request id on every log line of a request, and on its response, for finding one request's
lines among many processes' (`X-Request-ID`).

The id is the `X-Request-ID` header the reverse proxy sent (nginx: `proxy_set_header X-Request-ID
$request_id;`), so the proxy's log and ours share it, but only when it is a short safe token
(letters, digits, `.`, `_`, `-`; at most 64) and, once PRESSROOM_TRUSTED_PROXIES is set, only from
one of those proxies; anything else (NUL, newlines, 10 kB, another client's choice) is replaced by
a fresh random id and never logged. The id is echoed in the response's `X-Request-ID`.

The middleware comes first, so even a request that a later middleware refuses (a NUL in a header:
400) is logged with an id; the id stays bound until the response is closed, so Django's own
"Not Found" line, written after the middleware returned, carries it too. Each request also writes one line to the `pressroom.request` logger:
method, path (percent-encoded, without the query, which may hold tokens), status and duration;
health probes and metrics scrapes at DEBUG, the rest at INFO.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.utils.encoding import escape_uri_path

from config.client_address import peer_is_trusted_proxy
from tasks.logging import bind_request_id, unbind_request_id

logger = logging.getLogger("pressroom.request")

HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id_for(request) -> str:
    """The id of `request`: the proxy's X-Request-ID when it may be believed (see the module),
    else a new random one."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    trusted_source = not settings.PRESSROOM_TRUSTED_PROXIES or peer_is_trusted_proxy(request)
    if trusted_source and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request)
        request.request_id = request_id
        started = time.monotonic()
        bind_request_id(request_id)  # unbound when the response is closed (see the module)
        response = self.get_response(request)
        response[HEADER] = request_id
        path, milliseconds = escape_uri_path(request.path), round((time.monotonic() - started) * 1000, 1)
        logger.log(
            logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
            "%s %s %s %.1fms", request.method, path, response.status_code, milliseconds,
            extra={"method": request.method, "path": path, "status": response.status_code, "duration_ms": milliseconds},
        )
        return response


# Django writes a refused request's "Not Found"/"Forbidden" line after the middleware returned; the
# id stays bound until the response is closed, and never carries over into the next request.
request_finished.connect(unbind_request_id, dispatch_uid="pressroom-unbind-request-id")
