"""HTTP caching of the public blog: one version for everything readers see, shared by all processes.

Every public page, feed and sitemap depends on the same thing: which posts are published now, and
what they say. `blog_version()` names that state. It is kept in the default cache (Redis with
`REDIS_URL`, otherwise the PostgreSQL cache table), so every web process reads the same one, and
it changes:

- the moment a post, category or tag is saved or deleted, or a post's tags change (the change is
  committed first: `transaction.on_commit`), whichever code path made it (verbs, admin, shell);
- when a scheduled post's time comes: the version remembers the earliest future `published_at`,
  and the first request after that time starts a new version. Visibility itself is
  `published_at <= now`, so nothing has to run for a scheduled post to appear. "Now" is the
  database server's clock, for visibility and for the next publication alike; a web process's own
  clock only says when to ask the database whether that time has come, and a new version is
  started only when it has (a process whose clock is ahead would otherwise start one built from
  its clock, which no longer waited for the post, and a process on time that had rendered a page
  just before the post's time kept serving it without the post under that version).

`cached_blog_page` wraps a view with it:

- `ETag` (the version and the whole URL, host included, and of the query the parameters the view
  reads: `cached_blog_page(view, reads=("page",))`) and `Last-Modified` (when the version
  began, a second later than the version before it); a request that revalidates with a matching
  ETag gets 304 without the view running; one that names only a date (or `If-None-Match: *`) gets
  304 only when the page exists, a page that does not stays a 404.
- The rendered response is kept in a process-local cache (`blog_pages`; search result pages in
  `blog_search_pages`, whose countless addresses would evict the posts) under a key holding the
  version: a new version makes every older entry unreachable at once, in every process, without
  a purge. An entry lives `PRESSROOM_BLOG_CACHE_SECONDS` at most. Only a page's canonical address
  renders it: the lists, search and the sitemap answer any other `?page=` (`abc`, `0007`, past the
  end) with a redirect there (`publishing.blog.page_redirect`), which is not kept, so junk values
  cannot fill the cache and evict the real pages.
- `Cache-Control: public` with `max-age=0, must-revalidate`, plus `s-maxage` =
  `PRESSROOM_BLOG_CDN_MAX_AGE` (default 0): a CDN in front stores pages and revalidates them with
  the ETag (cheap 304s), so no post outlives its unpublishing there either. A positive value lets
  a CDN serve a page for that long without asking — faster, but an unpublished post can then stay
  visible on the CDN for as long, unless it is purged.

Only GET/HEAD requests whose response is a 200 that sets no cookie are cached; the blog's pages do
not depend on who asks. Any other method is a 405 (CSRF-exempt: nothing here changes anything).

When the shared cache cannot be reached (Redis stopped), the blog still answers: the page is
rendered from the database as if nothing were cached, without ETag or page caching, until the
cache is back. A change made meanwhile could not bump the version: the bump is owed to a one-off
django-q2 schedule (kept in PostgreSQL), which makes it once the cache answers again.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Min
from django.db.models.functions import Now
from django.http import HttpResponseNotAllowed
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, parse_etags
from django.views.decorators.csrf import csrf_exempt

from config.outages import log_failure
from publishing.models import Category, Post, Tag

logger = logging.getLogger(__name__)

VERSION_KEY = "pressroom:blog:version"
OWED_BUMP_SCHEDULE = "pressroom-blog-version-owed"
OWED_BUMP_JOB = "publishing.jobs.blog_version_bump"
OWED_BUMP_RETRY_SECONDS = 30
PAGE_KEY_PREFIX = "pressroom:blog:page"


def _shared():
    return caches["default"]


PAGES = "blog_pages"  # the cache of posts, lists, feeds and the sitemap
SEARCH_PAGES = "blog_search_pages"  # search result pages, apart: their addresses are countless


def _new_version(previous, next_publication: float | None) -> dict:
    """A fresh version after `previous` (None for the first): a unique token, when it began
    (`since`: the replica router's clock), its `Last-Modified` and `next_publication` (the next
    scheduled publication, `_next_publication()`).

    `Last-Modified` has whole seconds: a version begun in the same second as the one a client
    holds must still be newer, or If-Modified-Since answers 304 with the old page; so it is a
    second past the previous version's when that is not already behind the clock."""
    since = int(time.time())
    before = previous.get("last_modified") if isinstance(previous, dict) else None
    return {
        "token": uuid.uuid4().hex,
        "since": since,
        "last_modified": max(since, before + 1) if isinstance(before, int) else since,
        "next": next_publication,
    }


def _next_publication() -> float | None:
    """The earliest publication time still to come by the database's clock (as `Post.objects.published()`
    judges it), as a timestamp."""
    at = Post.objects.filter(published_at__gt=Now()).aggregate(at=Min("published_at"))["at"]
    return at.timestamp() if at else None


def bump_blog_version() -> dict:
    """Start a new version: every cached page and ETag of the blog is out of date from now on."""
    return _bumped(_shared().get(VERSION_KEY), _next_publication())


def _bumped(previous, next_publication: float | None) -> dict:
    version = _new_version(previous, next_publication)
    _shared().set(VERSION_KEY, version, timeout=None)
    return version


def blog_version() -> dict:
    """The current version (`token`, `since`), starting one when there is none or a scheduled
    publication's time has come."""
    version = _shared().get(VERSION_KEY)
    if not isinstance(version, dict) or "token" not in version:
        version = _new_version(None, _next_publication())
        if not _shared().add(VERSION_KEY, version, timeout=None):  # another process was first
            version = _shared().get(VERSION_KEY) or version
    if version.get("next") is not None and version["next"] <= time.time():
        coming = _next_publication()
        if coming != version["next"]:  # the publication it waited for is due by the database's clock
            version = _bumped(version, coming)
    return version


def request_blog_version(request) -> dict:
    """The version as this request first read it. The replica's choice (`publishing.replica`) and
    the page's ETag and cache key must come from one reading: read twice, a change landing between
    the two would have a page rendered from a replica that lacks it cached under the version that
    has it, and served as current until the blog next changed."""
    version = getattr(request, "_pressroom_blog_version", None)
    if version is None:
        version = request._pressroom_blog_version = blog_version()
    return version


def _bump_or_log() -> None:
    """Bump the version; when the shared cache is unreachable (Redis down), log instead of failing
    the save that changed the blog, and owe the bump (`_owe_bump`): until it is made, the old
    version's ETags still match, so a CDN or a client revalidating would keep a page the change
    made wrong (an unpublished post) for as long as nothing else changes."""
    try:
        # In a savepoint: with the database cache, a failed write (a deadlock, say) would otherwise
        # leave the transaction of the save that changed the blog aborted, and that save failing.
        with transaction.atomic():
            bump_blog_version()
    except Exception:
        logger.error("The blog's shared cache is unavailable; its pages were not invalidated", exc_info=True)
        _owe_bump()


def _owe_bump() -> None:
    """Leave the bump to a one-off django-q2 schedule, `OWED_BUMP_RETRY_SECONDS` from now: it is
    stored in PostgreSQL whichever broker runs the jobs, so the bump is made by whichever cluster
    takes it once the cache answers again (and owed again if it still does not)."""
    from django_q.models import Schedule

    try:
        with transaction.atomic():
            Schedule.objects.get_or_create(name=OWED_BUMP_SCHEDULE, defaults={
                "func": OWED_BUMP_JOB, "schedule_type": Schedule.ONCE, "repeats": -1,
                "next_run": timezone.now() + timedelta(seconds=OWED_BUMP_RETRY_SECONDS),
            })
    except Exception:
        logger.error("The owed invalidation of the blog's pages could not be scheduled", exc_info=True)


def owed_bump_make() -> None:
    """The owed bump (`publishing.jobs.blog_version_bump`): bump, or owe it again."""
    _bump_or_log()


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


def _etag(version: dict, request, reads: tuple[str, ...]) -> str:
    # The page's address: pages print absolute URLs (canonical, feeds, sitemap), so the host counts;
    # of the query, only the parameters the view reads.
    digest = hashlib.sha256(f"{version['token']}\0{_page_address(request, reads)}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def _page_address(request, reads: tuple[str, ...]) -> str:
    """The absolute URL with only the query parameters in `reads`, in that order: `?utm_source=…` and
    other parameters the view never reads neither make a page of their own (each one another copy
    of a large post held in memory) nor miss the cached one."""
    query = urlencode([(name, value) for name in reads for value in request.GET.getlist(name)])
    return request.build_absolute_uri(request.path) + (f"?{query}" if query else "")


def _set_cache_headers(response, etag: str, last_modified: int) -> None:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(
        response, public=True, max_age=0, must_revalidate=True, s_maxage=settings.PRESSROOM_BLOG_CDN_MAX_AGE
    )


def _names_an_etag(request) -> bool:
    """Whether the request revalidates with an ETag it was given (not `*`, which any URL matches)."""
    return parse_etags(request.META.get("HTTP_IF_NONE_MATCH", "")) not in ([], ["*"])


def cached_blog_page(view, *, reads: tuple[str, ...] = (), pages: str = PAGES):
    """Serve `view` (GET and HEAD only) with the blog's version: ETag/Last-Modified, 304s and a
    per-version page cache (`pages`, a cache alias); `reads` names the query parameters the view
    reads (the others do not change the page). A view whose addresses anyone can multiply without
    end (search: every query is a page) keeps its pages in a cache of its own, so that they
    cannot evict the others."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])  # the blog is read-only
        try:
            version = request_blog_version(request)
        except Exception as error:  # the shared cache is down: a miss, never an error page
            log_failure(logger, error, "The blog's shared cache is unavailable (%s); rendering uncached")
            return view(request, *args, **kwargs)
        etag, last_modified = _etag(version, request, reads), version.get("last_modified", version["since"])
        if _names_an_etag(request):
            # Only a 200 of this URL under this version carried this ETag: the page exists, unchanged.
            # Any other answer to the conditions (a 412 for an `If-Match` or `If-Unmodified-Since`
            # sent beside an ETag that does not match) waits for the view: the page may not exist.
            not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
            if not_modified is not None and not_modified.status_code == 304:
                _set_cache_headers(not_modified, etag, last_modified)
                return not_modified
        key = f"{PAGE_KEY_PREFIX}:{etag.strip(chr(34))}"
        kept = caches[pages]  # looked up per request: Django's cache handles are per thread
        response = kept.get(key)
        if response is None:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if response.status_code == 200 and not response.cookies and not response.streaming:
                kept.set(key, response, timeout=settings.PRESSROOM_BLOG_CACHE_SECONDS)
        if response.status_code != 200:
            return response  # a 404 stays a 404, whatever date or `*` the request names
        _set_cache_headers(response, etag, last_modified)
        conditional = get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
        if conditional is not response:
            _set_cache_headers(conditional, etag, last_modified)
        return conditional

    # It answers a write with the 405 above, never the CSRF failure page (403) a client without
    # the cookie would otherwise get first: the blog has nothing a forged request could change.
    return csrf_exempt(wrapper)
