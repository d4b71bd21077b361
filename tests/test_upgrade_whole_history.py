"""A database of the first release (2026-11-28: tasks 0002, content 0002, publishing 0002), filled
through that state's own models, upgraded through every migration since, as an operator's
`migrate` does: every row is kept (namesake categories and tags merge, as publishing 0016 says),
the columns later migrations derive are what today's code derives, and today's blog and search
serve the old posts."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from publishing.models import Category, Post, Tag
from publishing.models.posts import derive_body_html, derive_body_text
from tasks.models import GenerationTask
from tests.upgrades import database_at, migrate_to

FIRST_RELEASE = [("tasks", "0002_cache_events_catalog"), ("content", "0002_append_only_triggers"),
                 ("publishing", "0002_editorial_groups")]

DRAFT = """# Composting at home

Composting turns kitchen scraps into humus. Keep the pile moist.

## Sources

1. [Compost guide](https://example.com/compost)
"""


def _fill(apps) -> dict:
    """What the first release's admin and engine wrote: tasks in several states, their versions,
    an approval, posts made from a task and by hand (published, draft, scheduled), categories and
    tags whose names differ only in letter case, a title in another script."""
    User = apps.get_model("auth", "User")
    Catalog = apps.get_model("tasks", "ModelCatalogEntry")
    Task = apps.get_model("tasks", "GenerationTask")
    Version = apps.get_model("content", "ContentVersion")
    Approval = apps.get_model("content", "ApprovalEvent")
    Post = apps.get_model("publishing", "Post")
    Category = apps.get_model("publishing", "Category")
    Tag = apps.get_model("publishing", "Tag")

    editor = User.objects.create_user("old-editor", "old-editor@example.invalid", "pw", is_staff=True)
    offline, _ = Catalog.objects.get_or_create(key="offline", defaults={
        "display_name": "Offline writer (built in)", "provider": "offline", "provider_model_id": "offline"})
    created = timezone.now() - dt.timedelta(days=6)
    tasks = {status: Task.objects.create(topic=f"Composting, {status}", model=offline, created_by=editor,
                                         status=status, finished_at=None if status == "queued" else timezone.now(),
                                         approval_status="approved" if status == "completed" else "pending")
             for status in ("completed", "failed", "queued", "cancelled")}
    Task.objects.update(created_at=created)
    done = tasks["completed"]
    Version.objects.create(task=done, number=1, phase="draft", title="Composting at home", body=DRAFT)
    final = Version.objects.create(task=done, number=2, phase="format", title="Composting at home", body=DRAFT)
    Approval.objects.create(task=done, version=final, decision="approved", actor=editor, feedback="Good ✓")

    garden, namesake = (Category.objects.create(name="Gardening", slug="gardening"),
                        Category.objects.create(name="gardening", slug="gardening-2"))
    soil, soil_lower, script = (Tag.objects.create(name="Soil", slug="soil"), Tag.objects.create(name="soil", slug="soil-2"),
                                Tag.objects.create(name="Почва", slug="pochva"))
    now = timezone.now()
    posts = [
        Post(task=done, version=final, title="Composting at home", slug="composting-at-home", body=DRAFT,
             category=garden, published_at=now - dt.timedelta(days=2)),
        Post(title="Мульча и почва", slug="мульча", body="# Мульча и почва\n\nMulching keeps **moisture** in.",
             category=namesake, published_at=now - dt.timedelta(days=1)),
        Post(title="A draft", slug="a-draft", body="Not yet."),
        Post(title="Later", slug="later", body="Scheduled text.", published_at=now + dt.timedelta(days=3)),
    ]
    for post in posts:
        post.body_html = "<p>as the first release rendered it</p>"
        post.save()
    posts[0].tags.set([soil, soil_lower])
    posts[1].tags.set([soil_lower, script])
    return {"done": done.pk}


@pytest.mark.slow
def test_a_first_release_database_upgrades_through_every_migration(transactional_db):
    with database_at(*FIRST_RELEASE) as old:
        made = _fill(old)
        migrate_to()

    assert GenerationTask.objects.count() == 4
    assert Post.objects.count() == 4
    assert sorted(Category.objects.values_list("name", flat=True)) == ["Gardening"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Soil", "Почва"]
    assert {post.slug: sorted(post.tags.values_list("name", flat=True)) for post in Post.objects.all()} == {
        "composting-at-home": ["Soil"], "мульча": ["Soil", "Почва"], "a-draft": [], "later": []}
    assert set(Post.objects.values_list("category__name", flat=True)) == {"Gardening", None}

    done = GenerationTask.objects.get(pk=made["done"])
    assert done.versions.count() == 2 and done.approval_events.count() == 1
    assert done.queued_at == done.created_at  # tasks 0009: last queued when created
    for post in Post.objects.select_related("version"):
        formatted = post.version.body_html if post.version and post.version.body_html else ""
        assert post.body_html == derive_body_html(body=post.body, formatted=formatted, sources=post.sources)
        assert post.body_text == derive_body_text(post.body, formatted=formatted)
        assert post.search_vector
    assert not Post.objects.filter(body_html__contains="as the first release rendered it").exists()
    assert "<h1" not in Post.objects.get(slug="мульча").body_html  # the title is the page's heading

    client = Client()
    for slug in ("composting-at-home", "мульча"):
        assert client.get(f"/posts/{quote(slug)}/").status_code == 200
    assert client.get("/posts/later/").status_code == 404
    assert quote("мульча") in client.get("/search/", {"q": "moisture"}).content.decode()
    assert "composting-at-home" in client.get("/search/", {"q": "humus"}).content.decode()
    assert client.get("/category/gardening/").status_code == 200
    assert client.get("/category/gardening-2/").status_code == 404  # merged into "gardening"
    assert client.get("/feeds/rss/").status_code == 200
