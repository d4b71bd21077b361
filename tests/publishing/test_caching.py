"""The blog's HTTP caching: ETag/Last-Modified and 304s, Cache-Control, and a page cache that a
change of posts invalidates at once — in this process and in every other one."""

import os
import time
from datetime import timedelta
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

from publishing import caching
from publishing.models import Post, Tag
from tests.clocks import database_now
from tests.publishing.page_caches import PAGE_CACHES, fresh_page_cache  # noqa: F401 (autouse)
from tests.processes import GunicornServer, WebServer

pytestmark = pytest.mark.django_db


def _post(slug: str, published_at=None, **fields) -> Post:
    return Post.objects.create(title=fields.pop("title", slug.title()), slug=slug, published_at=published_at, **fields)


def _kept() -> int:
    """How many pages the process keeps, in both page caches."""
    return sum(len(caches[alias]._cache) for alias in PAGE_CACHES)


def test_pages_carry_etag_last_modified_and_revalidating_cache_control(client):
    _post("one", timezone.now())
    response = client.get("/")
    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["Last-Modified"]
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert directives == {"public", "max-age=0", "must-revalidate", "s-maxage=0"}


@override_settings(PRESSROOM_BLOG_CDN_MAX_AGE=120)
def test_a_cdn_max_age_is_a_setting(client):
    assert "s-maxage=120" in client.get("/")["Cache-Control"]


@pytest.mark.parametrize("path", ["/", "/posts/one/", "/search/?q=one", "/feeds/rss/", "/feeds/atom/", "/sitemap.xml"])
def test_a_repeated_request_with_the_etag_gets_304(client, path):
    _post("one", timezone.now(), body="One body.")
    first = client.get(path)
    assert first.status_code == 200
    again = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert client.get(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304


def test_etags_differ_by_url_and_change_when_a_post_is_published(client):
    for n in range(11):
        _post(f"one-{n}", timezone.now())
    home, page_two = client.get("/")["ETag"], client.get("/?page=2")["ETag"]
    assert home != page_two
    _post("two", timezone.now())
    after = client.get("/", HTTP_IF_NONE_MATCH=home)
    assert after.status_code == 200
    assert after["ETag"] != home
    assert "Two" in after.content.decode()


def test_a_page_is_served_from_the_cache_until_the_blog_changes(client):
    post = _post("one", timezone.now(), title="First title")
    assert "First title" in client.get("/").content.decode()
    # A write that bypasses the models (no signal): the cached page is still served...
    Post.objects.filter(pk=post.pk).update(title="Changed behind the cache")
    assert "First title" in client.get("/").content.decode()
    # ...until a change goes through the models, which starts a new version.
    Tag.objects.create(name="Anything", slug="anything")
    assert "Changed behind the cache" in client.get("/").content.decode()


def test_unpublishing_removes_the_post_from_cached_pages_at_once(client):
    post = _post("one", timezone.now(), title="Soon gone")
    assert client.get("/posts/one/").status_code == 200
    assert "Soon gone" in client.get("/").content.decode()
    post.published_at = None
    post.save()
    assert client.get("/posts/one/").status_code == 404
    assert "Soon gone" not in client.get("/").content.decode()
    assert "Soon gone" not in client.get("/feeds/rss/").content.decode()


def test_tag_changes_start_a_new_version(client):
    post = _post("one", timezone.now())
    before = client.get("/")["ETag"]
    post.tags.add(Tag.objects.create(name="New", slug="new"))
    assert client.get("/")["ETag"] != before


def test_a_scheduled_post_appears_when_its_time_comes_without_any_write(client):
    # Its time comes by the database's clock (`Post.objects.published()`), which a test cannot move
    # as it moves this process's: the post is due in a moment, and the test waits for it.
    at = database_now() + timedelta(seconds=1.5)
    _post("later", at, title="Scheduled piece")
    first = client.get("/")
    assert "Scheduled piece" not in first.content.decode()
    time.sleep(max(0.0, (at - database_now()).total_seconds()) + 0.3)
    response = client.get("/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert response.status_code == 200
    assert "Scheduled piece" in response.content.decode()


def test_error_pages_and_other_methods_are_not_cached(client):
    assert client.get("/posts/missing/").status_code == 404
    assert "ETag" not in client.get("/posts/missing/")
    assert client.post("/").status_code == 405


@override_settings(PRESSROOM_BLOG_CACHE_SECONDS=0)
def test_a_zero_cache_lifetime_turns_the_page_cache_off(client):
    post = _post("one", timezone.now(), title="First title")
    client.get("/")
    Post.objects.filter(pk=post.pk).update(title="Changed behind the cache")
    assert "Changed behind the cache" in client.get("/").content.decode()


def _get(url: str) -> tuple[int, str]:
    try:
        with urlopen(Request(url), timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, ""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_publishing_and_unpublishing_invalidate_cached_pages_in_other_processes(tmp_path):
    """Two web processes cache the home page; a change committed by a third (this test) shows in both."""
    post = _post("shared", timezone.now(), title="Original title")
    servers = [WebServer(tmp_path, name=f"web-{index}") for index in range(2)]
    try:
        for server in servers:
            server.wait_until_ready()
            assert "Original title" in _get(f"{server.url}/")[1]
        # Behind the caches' back: each server keeps serving the page it cached.
        Post.objects.filter(pk=post.pk).update(title="Edited without a signal")
        for server in servers:
            assert "Original title" in _get(f"{server.url}/")[1]

        _post("fresh", timezone.now(), title="Freshly published")
        for server in servers:
            status, html = _get(f"{server.url}/")
            assert status == 200 and "Freshly published" in html and "Edited without a signal" in html

        assert _get(f"{servers[0].url}/posts/fresh/")[0] == 200
        fresh = Post.objects.get(slug="fresh")
        fresh.published_at = None
        fresh.save()
        for server in servers:
            assert _get(f"{server.url}/posts/fresh/")[0] == 404
            assert "Freshly published" not in _get(f"{server.url}/")[1]
    finally:
        for server in servers:
            server.stop()


REDIS_FOR_TESTS = os.environ.get("REDIS_URL", "")
SHARED_CACHES = {
    "redis": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_FOR_TESTS,
              "KEY_FUNCTION": "config.cache.storable_key"},
    "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "pressroom_cache",
                 "KEY_FUNCTION": "config.cache.storable_key"},
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["redis", "database"])
def test_a_gunicorn_process_serves_each_change_made_elsewhere_with_either_shared_cache(backend, tmp_path, settings):
    """Gunicorn (process A) caches pages; this process publishes, edits and unpublishes through
    the same shared cache (Redis, or PostgreSQL's cache table without REDIS_URL), and A serves the
    new content at once."""
    if backend == "redis" and not REDIS_FOR_TESTS:
        pytest.skip("REDIS_URL is not set")
    settings.CACHES = {**settings.CACHES, "default": SHARED_CACHES[backend]}
    caching.bump_blog_version()
    post = _post("kept", timezone.now(), title="Original title", body="First body.")
    port = 18520 if backend == "redis" else 18521
    server = GunicornServer(tmp_path, name=f"gunicorn-{backend}", port=port,
                            env={"REDIS_URL": REDIS_FOR_TESTS if backend == "redis" else ""})
    try:
        server.wait_until_ready()
        assert "Original title" in _get(f"{server.url}/")[1]
        Post.objects.filter(pk=post.pk).update(title="Changed behind the cache")
        assert "Original title" in _get(f"{server.url}/")[1]  # A serves the page it cached

        _post("fresh", timezone.now(), title="Freshly published")
        status, html = _get(f"{server.url}/")
        assert status == 200 and "Freshly published" in html and "Changed behind the cache" in html

        assert "First body." in _get(f"{server.url}/posts/kept/")[1]
        post.refresh_from_db()
        post.body = "Edited body."
        post.save()
        assert "Edited body." in _get(f"{server.url}/posts/kept/")[1]

        post.published_at = None
        post.save()
        assert _get(f"{server.url}/posts/kept/")[0] == 404
        assert "Changed behind the cache" not in _get(f"{server.url}/")[1]
    finally:
        server.stop()


def test_a_failed_version_bump_leaves_the_save_that_changed_the_blog_intact(monkeypatch, caplog):
    # With the database cache, the bump is a statement in the saving transaction: one that fails
    # (a deadlock against another writer, say) aborted that transaction, and the save failed after
    # the error had been logged as harmless.
    from django.db import connection, transaction

    def failing_bump():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(caching, "bump_blog_version", failing_bump)
    with transaction.atomic():
        post = _post("kept", title="Kept")
        assert Post.objects.filter(pk=post.pk).exists()  # the transaction still answers
    assert Post.objects.get(pk=post.pk).title == "Kept"
    assert "pages were not invalidated" in caplog.text


def test_a_change_in_the_same_second_is_not_answered_304_to_a_date(client, monkeypatch):
    """Last-Modified has whole seconds: a version begun in the same second as the one a client
    holds is a second later, or a reader asking by date alone keeps an unpublished post (found in a review)."""
    from types import SimpleNamespace

    clock = SimpleNamespace(now=1_800_000_000.1)
    monkeypatch.setattr(caching, "time", SimpleNamespace(time=lambda: clock.now))
    post = _post("soon-pulled", title="Soon pulled", published_at=timezone.now())
    first = client.get("/feeds/rss/")
    assert b"Soon pulled" in first.content

    clock.now += 0.5
    post.published_at = None
    post.save()

    again = client.get("/feeds/rss/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 200 and b"Soon pulled" not in again.content
    assert again["Last-Modified"] != first["Last-Modified"]


@pytest.mark.parametrize("headers", [{"HTTP_IF_NONE_MATCH": "*"},
                                     {"HTTP_IF_MODIFIED_SINCE": "Fri, 31 Dec 9999 23:59:59 GMT"}])
def test_a_page_that_does_not_exist_is_a_404_whatever_the_request_revalidates(client, headers):
    """Found by a hostile test: conditions were checked before the view, so `*` or a date matched
    any URL, and an unknown post answered 304."""
    _post("there", published_at=timezone.now())
    assert client.get("/posts/there/", **headers).status_code == 304
    assert client.get("/posts/not-there/", **headers).status_code == 404
    assert client.get("/tag/no-such-tag/", **headers).status_code == 404


def test_a_bump_the_cache_outage_prevented_is_owed_and_made_once_the_cache_answers(client, monkeypatch):
    """Found in a review: an unpublish while Redis was away left the old version current, so a CDN
    revalidating the post's page got 304 for as long as nothing else changed."""
    from django_q.models import Schedule

    from publishing.jobs import blog_version_bump

    post = _post("pulled", published_at=timezone.now())
    first = client.get("/posts/pulled/")

    class Unreachable:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("Redis is away")
            return fail

    reachable = caching._shared
    monkeypatch.setattr(caching, "_shared", Unreachable)
    post.published_at = None
    post.save()
    monkeypatch.setattr(caching, "_shared", reachable)
    caches["blog_pages"].clear()
    assert client.get("/posts/pulled/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304  # not yet made

    owed = Schedule.objects.get(name=caching.OWED_BUMP_SCHEDULE)  # one, for both failed bumps
    assert (owed.func, owed.schedule_type, owed.repeats) == ("publishing.jobs.blog_version_bump", Schedule.ONCE, -1)
    assert owed.next_run > timezone.now()
    owed.delete()  # what the cluster's scheduler does when it queues the job

    monkeypatch.setattr(caching, "_shared", Unreachable)
    blog_version_bump()  # the cache is still away: owed again
    assert Schedule.objects.filter(name=caching.OWED_BUMP_SCHEDULE).count() == 1
    Schedule.objects.filter(name=caching.OWED_BUMP_SCHEDULE).delete()
    monkeypatch.setattr(caching, "_shared", reachable)

    blog_version_bump()
    assert client.get("/posts/pulled/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404
    assert not Schedule.objects.filter(name=caching.OWED_BUMP_SCHEDULE).exists()


def test_query_parameters_a_page_does_not_read_share_its_cached_copy(client):
    """Found in a review: pages were cached under the whole query string, so `?a=1`, `?a=2`… each
    held another copy of a large post in every web process (and a newsletter's `?utm_source=`
    links never hit the cache)."""
    _post("long", published_at=timezone.now(), body="word " * 2000)
    first = client.get("/posts/long/?utm_source=newsletter")
    tags = {client.get(f"/posts/long/?junk={n}")["ETag"] for n in range(20)}
    assert tags == {first["ETag"]}
    assert len(caches["blog_pages"]._cache) == 1


def test_the_parameters_a_page_reads_each_make_their_page(client):
    for n in range(25):
        _post(f"p{n}", published_at=timezone.now())
    home = {client.get("/", {**page, "utm_source": "x"})["ETag"] for page in ({}, {"page": 2})}
    search = {client.get("/search/", {"q": q, "junk": q})["ETag"] for q in ("p1", "p2")}
    assert len(home) == 2 and len(search) == 2


JUNK_PAGES = ["abc", "0", "-1", "", "1", "01", "0002", "3", "99999999", "2&{name}=2", "2&{name}=02"]


@pytest.mark.parametrize("path, name", [("/", "page"), ("/tag/t/", "page"), ("/search/?q=tomato", "page"),
                                        ("/sitemap.xml", "p")])
def test_only_the_canonical_address_of_a_page_is_rendered_and_kept(client, path, name):
    """Found in a review: the page cache kept a copy of a page under every raw `?page=` (`abc`,
    `0007`, `99999999`…), up to its 2,000 entries, so anyone could evict the real pages. Such an
    address now answers a redirect (a sitemap page past the end: Django's 404), neither kept nor
    given an ETag."""
    from publishing.search import post_refresh_search_vector

    tag = Tag.objects.create(name="T", slug="t")
    for n in range(12):  # two pages of lists and of search results; one page of sitemap
        post = _post(f"p{n}", timezone.now(), body="Tomatoes grow.")
        post.tags.add(tag)
        post_refresh_search_vector(post)
    joiner = "&" if "?" in path else "?"
    canonical = [path] + ([f"{path}{joiner}{name}=2"] if name == "page" else [])
    assert [client.get(address).status_code for address in canonical] == [200] * len(canonical)
    kept = _kept()
    assert kept == len(canonical)
    for junk in JUNK_PAGES:
        response = client.get(f"{path}{joiner}{name}={junk.format(name=name)}")
        assert response.status_code in ((301, 302) if name == "page" else (301, 404)), junk
        assert "ETag" not in response and "Cache-Control" not in response
    assert _kept() == kept


def test_searches_without_end_never_evict_the_posts_and_lists_kept(client, settings):
    """Found in a review: search pages were kept in the one page cache, and every query is a page
    of its own, so a few thousand distinct searches (one client, a minute) evicted every post and
    list. Search pages now have a cache of their own."""
    small = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 5}}
    settings.CACHES = {**settings.CACHES, "blog_pages": {**small, "LOCATION": "test-blog-pages"},
                       "blog_search_pages": {**small, "LOCATION": "test-blog-search-pages"}}
    _post("kept", timezone.now(), body="Tomatoes grow.")
    assert [client.get(path).status_code for path in ("/", "/posts/kept/")] == [200, 200]
    kept = set(caches["blog_pages"]._cache)

    for n in range(20):
        assert client.get("/search/", {"q": f"tomato{n}"}).status_code == 200

    assert len(kept) == 2 and set(caches["blog_pages"]._cache) == kept
    assert 0 < len(caches["blog_search_pages"]._cache) <= 5
