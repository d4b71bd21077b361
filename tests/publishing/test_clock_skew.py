"""Scheduled posts go live by the database's clock, whatever the web servers' and workers' clocks say.

A post scheduled for 12:00 is on the blog (and its going live recorded, which tells webhook
subscribers and reviewers) once the database server's clock says 12:00: a web process or worker
whose own clock is two minutes off (`tests.clocks.clock_off_by`) neither shows nor announces it
two minutes early, nor leaves it off the blog after its time.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import caches

from publishing import caching
from publishing.models import Post
from publishing.services.posts import record_due_publications
from tests.clocks import SKEW, clock_off_by, database_now

pytestmark = pytest.mark.django_db

PAGE_CACHES = ("blog_pages", "blog_search_pages")


@pytest.fixture(autouse=True)
def fresh_page_cache():
    for alias in PAGE_CACHES:
        caches[alias].clear()
    yield
    for alias in PAGE_CACHES:
        caches[alias].clear()


def post_due_in(seconds: float, slug: str = "skewed") -> Post:
    """A hand-written post scheduled `seconds` from now on the database's clock (before, if negative)."""
    return Post.objects.create(title=f"The {slug} piece", slug=slug,
                               published_at=database_now() + timedelta(seconds=seconds))


def test_a_worker_whose_clock_is_ahead_does_not_record_a_post_live_before_its_time():
    post = post_due_in(60)
    with clock_off_by(+SKEW):
        assert record_due_publications() == 0
    post.refresh_from_db()
    assert post.live_recorded_at is None


def test_a_worker_whose_clock_is_behind_records_a_post_live_once_its_time_has_come():
    post = post_due_in(-5)
    with clock_off_by(-SKEW):
        assert record_due_publications() == 1
    post.refresh_from_db()
    assert post.live_recorded_at is not None


def test_a_web_process_whose_clock_is_ahead_shows_no_post_before_its_time(client):
    post = post_due_in(60)
    with clock_off_by(+SKEW):
        assert post.title not in client.get("/").content.decode()
        assert client.get(f"/posts/{post.slug}/").status_code == 404
        assert client.get(f"/api/posts/{post.slug}/").status_code == 404


def test_a_web_process_whose_clock_is_behind_shows_a_post_once_its_time_has_come(client):
    post = post_due_in(-5)
    with clock_off_by(-SKEW):
        assert post.title in client.get("/").content.decode()
        assert client.get(f"/posts/{post.slug}/").status_code == 200


def test_a_web_process_whose_clock_is_ahead_neither_churns_the_blog_version_nor_hides_the_post_later(client):
    """The shared blog version names the next scheduled publication. A process whose clock is
    ahead started a new version at what it took for the post's time: built from its own clock,
    that version no longer waited for the post, so a process on time that rendered the front page
    just before the post's time kept serving it without the post, and answered a CDN's
    revalidation with 304, until something else changed on the blog."""
    post = post_due_in(2)
    before = caching.blog_version()["token"]
    with clock_off_by(+SKEW):  # a web process two minutes ahead serves a reader
        client.get("/")
        assert caching.blog_version()["token"] == before, "nothing changed on the database's clock"
    for alias in PAGE_CACHES:  # another web process, on time, serves the front page before the post's time
        caches[alias].clear()
    assert post.title not in client.get("/").content.decode()
    time.sleep(max(0.0, (post.published_at - database_now()).total_seconds()) + 0.5)
    assert post.title in client.get("/").content.decode()
