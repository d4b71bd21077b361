"""Feeds, sitemap and robots.txt: published posts only, full sanitized content, valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from publishing.models import Category, Post, Tag
from publishing.services.posts import task_publish, task_unpublish
from content.services.review import task_approve
from tests.editorial import completed_task
from tests.html_safety import assert_inert, elements

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
HOSTILE = "Safe *text*.\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1))\n\n<img src=x onerror=\"alert(1)\">"


def _post(slug: str, published_at=None, *, tags=(), **fields) -> Post:
    post = Post.objects.create(title=fields.pop("title", slug.title()), slug=slug, published_at=published_at,
                               **fields)
    post.tags.set(tags)
    return post


@pytest.fixture
def posts():
    now = timezone.now()
    science = Category.objects.create(name="Science", slug="science")
    garden = Category.objects.create(name="Garden", slug="garden")
    soil = Tag.objects.create(name="Soil", slug="soil")
    stars = Tag.objects.create(name="Stars", slug="stars")
    unused = Tag.objects.create(name="Unused", slug="draft-only")
    return {
        "older": _post("older", now - timedelta(days=2), category=garden, tags=[soil], body=HOSTILE),
        "newer": _post("newer", now - timedelta(days=1), category=science, tags=[stars], body="Stars & *galaxies*"),
        "draft": _post("draft", None, category=science, tags=[stars, unused]),
        "scheduled": _post("scheduled", now + timedelta(days=1), category=garden, tags=[soil, unused]),
    }


def _rss(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    return [(item.findtext("title"), item.findtext(CONTENT)) for item in channel.findall("item")]


def _atom(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    return [(entry.findtext(f"{ATOM}title"), entry.findtext(f"{ATOM}content"))
            for entry in feed.findall(f"{ATOM}entry")]


def test_site_feeds_list_published_posts_only_newest_first_with_full_content(client, posts):
    for read in (_rss(client, "/feeds/rss/"), _atom(client, "/feeds/atom/")):
        assert [title for title, _ in read] == ["Newer", "Older"]
        content = dict(read)
        assert "<em>galaxies</em>" in content["Newer"] and "&amp;" in content["Newer"]
        assert "<em>text</em>" in content["Older"]  # the full body, as HTML (escaped in the XML)
        # Raw HTML in the body is text, never markup: no script element, no event handler.
        assert [tag for tag, _ in elements(content["Older"])] == ["p", "em", "p", "p", "p"]
        assert "&lt;script&gt;" in content["Older"]
        assert_inert(content["Older"])


def test_feed_xml_escapes_the_html(client, posts):
    raw = client.get("/feeds/rss/").content.decode()
    assert "&lt;em&gt;galaxies&lt;/em&gt;" in raw and "<em>" not in raw


def test_category_and_tag_feeds_filter(client, posts):
    assert [t for t, _ in _rss(client, "/category/science/feeds/rss/")] == ["Newer"]
    assert [t for t, _ in _atom(client, "/category/garden/feeds/atom/")] == ["Older"]
    assert [t for t, _ in _rss(client, "/tag/soil/feeds/rss/")] == ["Older"]
    assert [t for t, _ in _atom(client, "/tag/stars/feeds/atom/")] == ["Newer"]


def test_feeds_of_a_name_only_drafts_use_are_not_found_like_its_archive(client, posts):
    """A tag or category with no published post stays private: its page and its feeds are 404."""
    Category.objects.create(name="Secret product Falcon", slug="falcon")
    for url in ("/tag/draft-only/", "/tag/draft-only/feeds/rss/", "/tag/draft-only/feeds/atom/",
                "/category/falcon/", "/category/falcon/feeds/rss/", "/category/falcon/feeds/atom/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Falcon" not in response.content and b"Unused" not in response.content


def test_unknown_category_or_tag_feed_is_not_found(client, posts):
    for url in ("/category/nope/feeds/rss/", "/category/nope/feeds/atom/",
                "/tag/nope/feeds/rss/", "/tag/nope/feeds/atom/"):
        assert client.get(url).status_code == 404


def test_feeds_hold_at_most_twenty_items(client):
    now = timezone.now()
    for n in range(25):
        _post(f"post-{n}", now - timedelta(minutes=n))
    titles = [t for t, _ in _rss(client, "/feeds/rss/")]
    assert len(titles) == 20 and titles[0] == "Post-0"
    assert len(_atom(client, "/feeds/atom/")) == 20


def _sitemap(client) -> dict[str, str | None]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    return {url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in root.findall(f"{SITEMAP}url")}


def test_sitemap_lists_published_posts_and_their_taxonomies_only(client, posts):
    urls = _sitemap(client)
    paths = {loc.removeprefix("http://testserver") for loc in urls}
    assert paths == {"/posts/newer/", "/posts/older/", "/category/garden/", "/category/science/",
                     "/tag/soil/", "/tag/stars/"}
    lastmod = urls["http://testserver/posts/newer/"]
    assert lastmod and lastmod.startswith(posts["newer"].updated_at.date().isoformat())
    assert urls["http://testserver/tag/soil/"]  # a taxonomy's lastmod: its newest published post


def test_robots_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines and "Disallow: /admin/" in lines and "Disallow: /api/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert client.head("/robots.txt").status_code == 200  # crawlers and monitors ask with HEAD


def test_unpublished_task_post_leaves_feeds_and_sitemap(client, editor, reviewer):
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    assert [t for t, _ in _rss(client, "/feeds/rss/")] == [post.title]
    assert f"http://testserver/posts/{post.slug}/" in _sitemap(client)
    task_unpublish(task=task, by=reviewer, reason="Withdrawn")
    assert _rss(client, "/feeds/rss/") == [] and _atom(client, "/feeds/atom/") == []
    assert _sitemap(client) == {}
    if post.category:  # its only post gone, the category is private again
        assert client.get(f"/category/{post.category.slug}/feeds/rss/").status_code == 404


def test_feed_content_lists_the_public_sources_only(client):
    _post("cited", timezone.now(), body="Cited [1] and [2].", sources=[
        {"number": 1, "title": "Editor's notes", "url": "", "kind": "pasted"},
        {"number": 2, "title": "A practical guide", "url": "https://example.com/guide", "kind": "web"},
    ])
    for read in (_rss(client, "/feeds/rss/"), _atom(client, "/feeds/atom/")):
        content = dict(read)["Cited"]
        assert 'href="https://example.com/guide"' in content and "A practical guide" in content
        assert "Editor&#x27;s notes" not in content and "Editor's notes" not in content


@pytest.mark.parametrize("url", ["/feeds/rss/", "/feeds/atom/", "/category/odd/feeds/rss/", "/tag/odd/feeds/atom/"])
def test_control_characters_in_a_post_are_left_out_of_the_feeds(client, url):
    # XML 1.0 cannot hold them, the database and HTML can: a title or body with one (a model's
    # output, a pasted text) made every feed listing the post answer 500, the site-wide ones too.
    category = Category.objects.create(name="Odd\x0bcategory", slug="odd")
    tag = Tag.objects.create(name="odd\x1ftag", slug="odd")
    _post("odd", timezone.now(), title="Vertical\x0btab \x1fand unit separator", category=category, tags=[tag],
          body="A form\x0cfeed and an\x1b escape.", excerpt="An\x08 excerpt")

    [(title, content)] = (_rss if "rss" in url else _atom)(client, url)  # parsed as XML: well-formed

    assert title == "Verticaltab and unit separator"
    assert "A formfeed and an escape." in content
