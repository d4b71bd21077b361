"""Titles, categories and tags in any script get readable slugs in that script, and their pages,
feeds and filters answer at them (before: `/posts/post/`, `/tag/item-2/`)."""

from urllib.parse import quote

import pytest

from content.formatting import format_article
from content.services.review import task_approve
from publishing.models import Category, Post, Tag
from publishing.services.posts import task_publish
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db


def published(editor, reviewer, *, title: str, category: str, tags: list[str]) -> Post:
    # No slug from the format stage: the post's then comes from the title, as for an edited version.
    task = completed_task(created_by=editor, title=title, slug="", category=category, tags=tags)
    task_approve(task=task, by=reviewer)
    return task_publish(task=task, by=reviewer)


@pytest.mark.parametrize(("title", "slug"), [
    ("Компост дома", "компост-дома"),
    ("Κήπος και λίπασμα", "κήπος-και-λίπασμα"),
    ("東京の庭", "東京の庭"),
    ("Composting at home", "composting-at-home"),
    ("¡¿ — !?", "post"),  # nothing to make a slug of
])
def test_a_formatted_article_gets_a_slug_in_its_own_script(title, slug):
    assert format_article(f"# {title}\n\nBody.", fallback_title="x", sources=[]).slug == slug


def test_headings_in_any_script_get_anchors_in_that_script():
    formatted = format_article("# Title\n\n## Почва и вода\n\nText.\n\n## 水やり\n\nMore.", fallback_title="x", sources=[])
    assert [entry["id"] for entry in formatted.toc] == ["почва-и-вода", "水やり"]
    assert 'id="почва-и-вода"' in formatted.body_html


def test_a_post_its_category_and_tags_named_in_cyrillic_have_cyrillic_slugs(editor, reviewer):
    post = published(editor, reviewer, title="Компост дома", category="Сад", tags=["почва", "Компост"])

    assert post.slug == "компост-дома"
    assert post.category.slug == "сад"
    assert sorted(post.tags.values_list("slug", flat=True)) == ["компост", "почва"]


def test_namesakes_in_any_script_get_numbered_slugs(editor, reviewer):
    first = published(editor, reviewer, title="Компост дома", category="Сад", tags=["почва"])
    second = published(editor, reviewer, title="Компост дома", category="Сад", tags=["почва"])
    assert (first.slug, second.slug) == ("компост-дома", "компост-дома-2")
    assert Category.objects.filter(name="Сад").count() == 1 and Tag.objects.filter(name="почва").count() == 1


def test_the_pages_feeds_and_sitemap_answer_at_slugs_in_any_script(client, editor, reviewer):
    post = published(editor, reviewer, title="東京の庭", category="Κήπος", tags=["почва"])
    post_path, category_path, tag_path = (f"/posts/{quote('東京の庭')}/", f"/category/{quote('κήπος')}/",
                                          f"/tag/{quote('почва')}/")

    for path in (post_path, category_path, tag_path, category_path + "feeds/rss/", tag_path + "feeds/atom/"):
        assert client.get(path).status_code == 200, path
    listing = client.get("/").content.decode()
    assert f'href="{post_path}"' in listing  # links are written percent-encoded, as browsers send them
    assert post_path in client.get("/sitemap.xml").content.decode()
    assert client.get(f"/posts/{quote('東京の庭-2')}/").status_code == 404


def test_the_posts_api_filters_by_and_finds_slugs_in_any_script(client, editor, reviewer):
    published(editor, reviewer, title="Компост дома", category="Сад", tags=["почва"])
    published(editor, reviewer, title="Composting at home", category="Garden", tags=["soil"])

    by_category = client.get("/api/posts", {"category": "сад"})
    by_tag = client.get("/api/posts", {"tag": "почва"})
    refused = client.get("/api/posts", {"tag": "почва<script>"})
    detail = client.get(f"/api/posts/{quote('компост-дома')}")

    assert [item["slug"] for item in by_category.json()["results"]] == ["компост-дома"]
    assert [item["slug"] for item in by_tag.json()["results"]] == ["компост-дома"]
    assert refused.status_code == 400
    assert (detail.status_code, detail.json()["title"]) == (200, "Компост дома")


@pytest.mark.parametrize("path", [
    "/posts/%ED%A0%80/",  # a lone surrogate's UTF-8, which no text can hold
    "/posts/%FF%FE/",  # not UTF-8 at all
    "/tag/%F0%9F%98%80/",  # an emoji: no slug has one
    "/category/ＡＢＣ/",  # fullwidth letters: a word, but no category's slug
    "/posts/" + "я" * 5000 + "/",
    "/tag/%E2%80%A8/",  # a line separator
])
def test_addresses_no_slug_can_have_are_not_found(client, path):
    assert client.get(path).status_code == 404
