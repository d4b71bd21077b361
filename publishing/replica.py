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

The URL names live here, beside the blog's URLconf, rather than in config: this app knows which of
its views are public.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from config.db_router import mark_public_reads, public_reads, replica_alias
from publishing.caching import blog_version

logger = logging.getLogger(__name__)

BLOG_NAMESPACE = "publishing"
PUBLIC_API_VIEWS = frozenset({"api:post_list", "api:post_search", "api:post_detail"})


def is_public_read(request) -> bool:
    """A GET/HEAD of a blog page or of the public posts API."""
    match = request.resolver_match
    if request.method not in ("GET", "HEAD") or match is None:
        return False
    return match.namespace == BLOG_NAMESPACE or match.view_name in PUBLIC_API_VIEWS


def replica_has_caught_up() -> bool:
    """True when the blog last changed longer ago than the replica may lag behind."""
    try:
        since = blog_version()["since"]
    except Exception:  # the shared cache is down: nothing tells how fresh the replica is
        logger.warning("The blog's shared cache is unavailable; reading from the primary", exc_info=True)
        return False
    return time.time() - since >= settings.DATABASE_REPLICA_LAG_SECONDS


class PublicReadsMiddleware:
    """Marks the public blog's and public API's reads for the replica, for the request's length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The flag set in process_view lives in this block and ends with the response.
        with public_reads(False):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if replica_alias() is not None and is_public_read(request) and replica_has_caught_up():
            mark_public_reads()
        return None
