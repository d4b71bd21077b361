"""Hostile or broken requests to the public side (the blog, its feeds and sitemap, the public posts
API, media): each gets a clear answer with the right status, never a 500, never a draft, and the
page cache is neither poisoned nor filled by them. What the other blog tests already cover (hostile
page numbers, search queries, headers, media traversal) is not repeated here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from publishing.models import Category, Post, Tag
from publishing.search import post_refresh_search_vector

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_page_cache():
    caches["blog_pages"].clear()
    yield
    caches["blog_pages"].clear()


def _post(slug: str, *, ago: timedelta | None = timedelta(hours=1), **fields) -> Post:
    """A post published `ago` before now (None: a draft)."""
    fields.setdefault("title", slug.replace("-", " ").title())
    return Post.objects.create(slug=slug, body="Compost heaps.", published_at=None if ago is None else timezone.now() - ago,
                               **fields)


# --- Conditional requests ----------------------------------------------------------------------

FAILING_PRECONDITIONS = [
    {"HTTP_IF_NONE_MATCH": '"stale"', "HTTP_IF_MATCH": '"other"'},
    {"HTTP_IF_NONE_MATCH": '"stale"', "HTTP_IF_UNMODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"},
]


@pytest.mark.parametrize("headers", FAILING_PRECONDITIONS)
@pytest.mark.parametrize("path", ["/posts/a-draft/", "/posts/no-such-post/", "/tag/no-such-tag/", "/sitemap.xml?p=9"])
def test_a_failing_precondition_beside_an_etag_on_a_missing_page_is_a_404(path, headers):
    """Found here: an ETag that did not match, sent with `If-Match` or `If-Unmodified-Since`, had
    the conditions answered before the view ran, so a draft or unknown post was a 412 (with
    `Cache-Control: public`), not the 404 it is without the headers."""
    _post("a-draft", ago=None)
    response = Client().get(path, **headers)
    assert response.status_code == 404
    assert "ETag" not in response


@pytest.mark.parametrize("headers", FAILING_PRECONDITIONS)
def test_a_failing_precondition_on_a_published_page_is_a_412(headers):
    _post("there")
    assert Client().get("/posts/there/", **headers).status_code == 412


# --- Methods -----------------------------------------------------------------------------------

READ_ONLY_PATHS = ["/", "/?page=2", "/posts/there/", "/category/garden/", "/tag/compost/", "/search/?q=compost",
                   "/feeds/rss/", "/feeds/atom/", "/category/garden/feeds/rss/", "/tag/compost/feeds/atom/",
                   "/sitemap.xml", "/robots.txt", "/media/posts/there.png", "/favicon.ico"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", READ_ONLY_PATHS)
def test_a_write_to_a_public_page_is_a_405_even_without_a_csrf_cookie(path, method):
    """Found here: a client without the CSRF cookie (any client but a browser that read a form
    first) got the CSRF failure page, a 403, from every blog page, feed, the sitemap, robots.txt,
    media and the favicon; only a browser with the token met the 405 the blog promises."""
    post = _post("there", category=Category.objects.create(name="Garden", slug="garden"))
    post.tags.set([Tag.objects.create(name="Compost", slug="compost")])
    response = Client(enforce_csrf_checks=True).generic(method, path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- Page numbers of the search ------------------------------------------------------------------

@pytest.fixture
def twelve_results():
    for n in range(12):
        post_refresh_search_vector(_post(f"tomato-{n}", title=f"Tomato {n}", ago=timedelta(hours=n + 1)))


@pytest.mark.parametrize("page", ["0", "-1", "-99999", "١٢"])
def test_a_zero_negative_or_non_ascii_search_page_is_the_first_page(twelve_results, page):
    """Found here: the search page and the search API took `page=0` or `page=-1` as past the end and
    answered the last page, where every list of the blog answers the first."""
    response = Client().get("/search/", {"q": "tomato", "sort": "date", "page": page})
    assert (response.status_code, response["Location"]) == (301, "/search/?q=tomato&sort=date")
    html = Client().get(response["Location"]).content.decode()
    assert html.count("<article>") == 10 and 'href="/posts/tomato-0/"' in html
    api = Client().get("/api/posts/search", {"q": "tomato", "sort": "date", "page": page}).json()
    assert [result["slug"] for result in api["results"]] == [f"tomato-{n}" for n in range(10)]


# --- The page cache ----------------------------------------------------------------------------

def test_a_page_rendered_for_another_host_or_scheme_is_never_served_to_this_one(settings):
    """Pages print absolute URLs (canonical, feeds, sitemap): a first request with an odd port in
    `Host` (ALLOWED_HOSTS ignores ports) or a forwarded `https` must not leave its copy for others."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    _post("there")
    odd = [Client().get("/posts/there/", HTTP_HOST="localhost:6666"),
           Client().get("/posts/there/", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https"),
           Client().get("/sitemap.xml", HTTP_HOST="localhost:6666")]
    assert [response.status_code for response in odd] == [200, 200, 200]
    html = Client().get("/posts/there/", HTTP_HOST="localhost").content.decode()
    assert '<link rel="canonical" href="http://localhost/posts/there/">' in html
    assert "6666" not in html and "https://localhost" not in html
    assert "6666" not in Client().get("/sitemap.xml", HTTP_HOST="localhost").content.decode()


@pytest.mark.parametrize("revalidate", ["ETag", "Last-Modified"])
def test_revalidating_an_unpublished_post_gets_404_not_304(revalidate):
    post = _post("soon-gone")
    first = Client().get("/posts/soon-gone/")
    assert first.status_code == 200
    post.published_at = None
    post.save()
    header = {"ETag": "HTTP_IF_NONE_MATCH", "Last-Modified": "HTTP_IF_MODIFIED_SINCE"}[revalidate]
    assert Client().get("/posts/soon-gone/", **{header: first[revalidate]}).status_code == 404
