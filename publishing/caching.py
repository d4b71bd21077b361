"""HTTP caching of the public blog: one version for everything readers see, shared by all processes.

Every public page, feed and sitemap depends on the same thing: which posts are published now, and
what they say. `blog_version()` names that state. It is kept in the default cache (Redis with
`REDIS_URL`, otherwise the PostgreSQL cache table), so every web process reads the same one, and
it changes:

- the moment a post, category or tag is saved or deleted, or a post's tags change (the change is
  committed first: `transaction.on_commit`), whichever code path made it (verbs, admin, shell);
- when a scheduled post's time comes: the version remembers the earliest future `published_at`,
  and the first request after that time starts a new version. Visibility itself is
  `published_at <= now`, so nothing has to run for a scheduled post to appear.

`cached_blog_page` wraps a view with it:

- `ETag` (the version and the whole URL, host and query string included) and `Last-Modified` (when the version
  began); a conditional request that matches gets 304 without the view running.
- The rendered response is kept in a process-local cache (`blog_pages`) under a key holding the
  version: a new version makes every older entry unreachable at once, in every process, without
  a purge. An entry lives `PRESSROOM_BLOG_CACHE_SECONDS` at most.
- `Cache-Control: public` with `max-age=0, must-revalidate`, plus `s-maxage` =
  `PRESSROOM_BLOG_CDN_MAX_AGE` (default 0): a CDN in front stores pages and revalidates them with
  the ETag (cheap 304s), so no post outlives its unpublishing there either. A positive value lets
  a CDN serve a page for that long without asking — faster, but an unpublished post can then stay
  visible on the CDN for as long, unless it is purged.

Only GET/HEAD requests whose response is a 200 that sets no cookie are cached; the blog's pages do
not depend on who asks.

When the shared cache cannot be reached (Redis stopped), the blog still answers: the page is
rendered from the database as if nothing were cached, without ETag or page caching, until the
cache is back.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Min
from django.http import HttpResponseNotAllowed
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

from publishing.models import Category, Post, Tag

logger = logging.getLogger(__name__)

VERSION_KEY = "pressroom:blog:version"
PAGE_KEY_PREFIX = "pressroom:blog:page"


def _shared():
    return caches["default"]


def _pages():
    return caches["blog_pages"]


def _new_version() -> dict:
    """A fresh version: a unique token, when it began, and the next scheduled publication."""
    now = timezone.now()
    next_change = Post.objects.filter(published_at__gt=now).aggregate(at=Min("published_at"))["at"]
    return {
        "token": uuid.uuid4().hex,
        "since": int(time.time()),
        "next": next_change.timestamp() if next_change else None,
    }


def bump_blog_version() -> dict:
    """Start a new version: every cached page and ETag of the blog is out of date from now on."""
    version = _new_version()
    _shared().set(VERSION_KEY, version, timeout=None)
    return version


def blog_version() -> dict:
    """The current version (`token`, `since`), starting one when there is none or a scheduled
    publication's time has come."""
    version = _shared().get(VERSION_KEY)
    if not isinstance(version, dict) or "token" not in version:
        version = _new_version()
        if not _shared().add(VERSION_KEY, version, timeout=None):  # another process was first
            version = _shared().get(VERSION_KEY) or version
    if version.get("next") is not None and version["next"] <= time.time():
        version = bump_blog_version()
    return version


def _bump_or_log() -> None:
    """Bump the version; when the shared cache is unreachable (Redis down), log instead of failing
    the save that changed the blog: pages cached per process expire after
    `PRESSROOM_BLOG_CACHE_SECONDS`, and the next change that reaches the cache bumps it."""
    try:
        # In a savepoint: with the database cache, a failed write (a deadlock, say) would otherwise
        # leave the transaction of the save that changed the blog aborted, and that save failing.
        with transaction.atomic():
            bump_blog_version()
    except Exception:
        logger.error("The blog's shared cache is unavailable; its pages were not invalidated", exc_info=True)


def _bump_after_commit(**kwargs) -> None:
    # Now, so this process (and, with the database cache, the committing transaction) sees the
    # change at once; and again after the commit, so that a page another process rendered from
    # the old rows under the first new version is not served after the change is visible.
    _bump_or_log()
    transaction.on_commit(_bump_or_log)


def _tags_changed(sender, action: str, **kwargs) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        _bump_after_commit()


for _model in (Post, Category, Tag):
    post_save.connect(_bump_after_commit, sender=_model, dispatch_uid=f"publishing.caching.saved.{_model.__name__}")
    post_delete.connect(_bump_after_commit, sender=_model, dispatch_uid=f"publishing.caching.deleted.{_model.__name__}")
m2m_changed.connect(_tags_changed, sender=Post.tags.through, dispatch_uid="publishing.caching.tags_changed")


def _etag(version: dict, request) -> str:
    # The whole URL: pages print absolute URLs (canonical, feeds, sitemap), so the host counts.
    digest = hashlib.sha256(f"{version['token']}\0{request.build_absolute_uri()}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def _set_cache_headers(response, etag: str, last_modified: int) -> None:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(
        response, public=True, max_age=0, must_revalidate=True, s_maxage=settings.PRESSROOM_BLOG_CDN_MAX_AGE
    )


def cached_blog_page(view):
    """Serve `view` (GET and HEAD only) with the blog's version: ETag/Last-Modified, 304s and a
    per-version page cache."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])  # the blog is read-only
        try:
            version = blog_version()
        except Exception:  # the shared cache is down: a miss, never an error page
            logger.warning("The blog's shared cache is unavailable; rendering uncached", exc_info=True)
            return view(request, *args, **kwargs)
        etag, last_modified = _etag(version, request), version["since"]
        not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
        if not_modified is not None:
            _set_cache_headers(not_modified, etag, last_modified)
            return not_modified
        key = f"{PAGE_KEY_PREFIX}:{etag.strip(chr(34))}"
        response = _pages().get(key)
        if response is None:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if response.status_code == 200 and not response.cookies and not response.streaming:
                _pages().set(key, response, timeout=settings.PRESSROOM_BLOG_CACHE_SECONDS)
        if response.status_code == 200:
            _set_cache_headers(response, etag, last_modified)
        return response

    return wrapper
