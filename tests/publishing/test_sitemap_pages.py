"""A sitemap too big for one page: `/sitemap.xml` becomes the index of every page of every part,
and every published post is on one of them (`publishing.seo.SITEMAP_PAGE_URLS`).

At 50,005 posts the one page Django allowed (50,000 addresses) was 6 MB, took 5–7 s, and the 5
oldest posts were on `?p=2`, which nothing named (docs/reliability.md, row 37)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from publishing import seo
from publishing.models import Post

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _locs(client, path: str, element: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, path
    root = ET.fromstring(response.content)
    return [node.findtext(f"{SITEMAP}loc").removeprefix("http://testserver")
            for node in root.findall(f"{SITEMAP}{element}")]


def test_a_sitemap_of_more_than_a_page_is_an_index_of_pages_that_name_every_post(client, monkeypatch):
    monkeypatch.setattr(seo.BlogSitemap, "limit", 2)
    Post.objects.bulk_create(Post(title=f"Post {n}", slug=f"post-{n}", body="Text.",
                                  published_at=timezone.now() - timezone.timedelta(minutes=n)) for n in range(5))

    pages = _locs(client, "/sitemap.xml", "sitemap")

    assert pages == ["/sitemap-posts.xml", "/sitemap-posts.xml?p=2", "/sitemap-posts.xml?p=3",
                     "/sitemap-categories.xml", "/sitemap-tags.xml"]
    listed = [loc for page in pages[:3] for loc in _locs(client, page, "url")]
    assert sorted(listed) == sorted(f"/posts/post-{n}/" for n in range(5))
    assert client.get("/sitemap-posts.xml?p=4").status_code == 404
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_a_sitemap_that_fits_one_page_stays_the_sitemap_itself(client):
    Post.objects.create(title="One", slug="one", body="Text.", published_at=timezone.now())

    assert _locs(client, "/sitemap.xml", "url") == ["/posts/one/"]
    assert seo.BlogSitemap.limit == seo.SITEMAP_PAGE_URLS < 50_000
