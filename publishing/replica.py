"""Which requests read the public blog, and so may read from the replica (config/db_router.py).

`PublicReadsMiddleware` marks a GET or HEAD request as a public read when its view is one of the
blog's (the `publishing` URL namespace: pages, archives, search, feeds, sitemap) or one of the
public posts API's. The router then sends that request's reads to `DATABASE_READ_REPLICA`; any
other request — the admin, the task API, publishing through the API, media (whose answer depends
on the signed-in user) — never sees the flag.

Replica lag: every change of the blog starts a new blog version, shared by all processes
(`publishing/caching.py`). While that version is younger than `DATABASE_REPLICA_LAG_SECONDS`, public
requests still read the primary, so the editor who has just published sees the post, and no page
rendered from rows the replica has not received yet is cached under the new version. When the
shared cache cannot be read, the request stays on the primary too.

Replica down: a public request first makes sure the replica's connection is open (free while the
kept connection is healthy). If it cannot connect, or a public view fails with a connection error
(the replica went away mid-request), the process sends public reads to the primary for
`REPLICA_RETRY_SECONDS` and the failed view is run once more on the primary: readers get their
page from the primary, never a 500 for a replica outage, and the log says so once per outage.

The URL names live here, beside the blog's URLconf, rather than in config: this app knows which of
its views are public.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from config.db_router import mark_public_reads, public_reads, reading_public, replica_alias
from publishing.caching import request_blog_version

logger = logging.getLogger(__name__)

REPLICA_RETRY_SECONDS = 10.0
_replica_down_until = 0.0  # per process: time.monotonic() before which public reads use the primary

BLOG_NAMESPACE = "publishing"
PUBLIC_API_VIEWS = frozenset({"api:post_list", "api:post_search", "api:post_detail"})


def is_public_read(request) -> bool:
    """A GET/HEAD of a blog page or of the public posts API."""
    match = request.resolver_match
    if request.method not in ("GET", "HEAD") or match is None:
        return False
    return match.namespace == BLOG_NAMESPACE or match.view_name in PUBLIC_API_VIEWS


def replica_has_caught_up(request) -> bool:
    """True when the blog last changed longer ago than the replica may lag behind, by the version
    the request's page is then cached under (`request_blog_version`)."""
    try:
        since = request_blog_version(request)["since"]
    except Exception:  # the shared cache is down: nothing tells how fresh the replica is
        logger.warning("The blog's shared cache is unavailable; reading from the primary", exc_info=True)
        return False
    return time.time() - since >= settings.DATABASE_REPLICA_LAG_SECONDS


def _replica_failed(alias: str, error: Exception) -> None:
    global _replica_down_until
    if time.monotonic() >= _replica_down_until:
        logger.warning("The read replica does not answer (%s: %s); public reads use the primary for %ss",
                       type(error).__name__, " ".join(str(error).split())[:300], REPLICA_RETRY_SECONDS)
    _replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
    try:
        connections[alias].close()
    except Exception:  # noqa: BLE001 (a broken connection may fail to close; it is dropped either way)
        pass


def replica_answers(alias: str) -> bool:
    """False while the replica is known to be down, or when its connection cannot be opened."""
    if time.monotonic() < _replica_down_until:
        return False
    try:
        connections[alias].ensure_connection()
    except (OperationalError, InterfaceError) as error:
        _replica_failed(alias, error)
        return False
    return True


class PublicReadsMiddleware:
    """Marks the public blog's and public API's reads for the replica, for the request's length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The flag set in process_view lives in this block and ends with the response.
        with public_reads(False):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        alias = replica_alias()
        if alias is not None and is_public_read(request) and replica_has_caught_up(request) and replica_answers(alias):
            mark_public_reads()
        return None

    def process_exception(self, request, exception):
        """A public view that lost the replica mid-request is run again, once, on the primary (a
        GET or HEAD of public content: running it twice changes nothing)."""
        alias = replica_alias()
        if alias is None or not reading_public() or not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if not connections[alias].errors_occurred:
            return None  # the primary failed (the cache table, a session): not the replica's outage
        _replica_failed(alias, exception)
        mark_public_reads(False)  # for the rest of this request, rendering included
        match = request.resolver_match
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()  # a failure while rendering is not rendered again by Django
        return response
