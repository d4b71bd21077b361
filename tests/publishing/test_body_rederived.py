"""Migrations 0012, 0017 and 0019 derive the stored body of posts again, by today's rule (0017 for
every post, and its readable text too; 0019 for posts with a heading holding a Sources anchor)."""

from __future__ import annotations

import importlib
from dataclasses import asdict

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content.formatting import format_article
from content.providers.base import Source
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.models import Post
from publishing.models.posts import derive_body_html
from publishing.services.posts import task_publish
from tests.editorial import completed_task, editor_and_reviewer

pytestmark = pytest.mark.django_db

rederive = importlib.import_module("publishing.migrations.0012_rederive_body_html").rederive
migration_0017 = importlib.import_module("publishing.migrations.0017_post_body_text")
migration_0019 = importlib.import_module("publishing.migrations.0019_sources_anchors_off_headings")


def test_posts_published_before_the_rule_lose_the_space_left_by_a_private_citation():
    editor, reviewer = editor_and_reviewer("rederive-editor", "rederive-reviewer")
    sources = [Source(1, "Editor's notes", quote="Private.", kind="pasted"),
               Source(2, "A practical guide", url="https://example.org/guide")]
    task = completed_task(created_by=editor, title="Rain barrels")
    formatted = format_article("# Rain barrels\n\nIt is hard work [1]. It pays [2].", fallback_title="x",
                               sources=sources)
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, seo=formatted.seo(), sources=[asdict(s) for s in sources])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    current = Post.objects.get(pk=post.pk).body_html
    assert "hard work." in current and "#source-1" not in current and "#source-2" in current
    hand_written = Post.objects.create(title="By hand", slug="by-hand", body="Plain *text*.")
    # As the rule before it stored them: the link to the private notes dropped, its space left.
    Post.objects.filter(pk=post.pk).update(body_html=current.replace("hard work.", "hard work ."))

    rederive(apps, schema_editor=None)

    assert Post.objects.get(pk=post.pk).body_html == current
    assert Post.objects.get(pk=hand_written.pk).body_html == hand_written.body_html


PIXEL = '<p><img src="https://tracker.example/pixel.gif" alt="Pixel"></p>'


def test_hand_written_posts_saved_before_the_column_get_their_text_and_lose_external_images():
    body = "# Kale\n\nKale grows in *winter*.\n\n![Pixel](https://tracker.example/pixel.gif)\n\n![Bed](/media/bed.jpg)"
    post = Post.objects.create(title="Kale", slug="kale", body=body)
    # As a post saved before stored it: the external image's source kept, no readable text yet.
    Post.objects.filter(pk=post.pk).update(body_html="<p>Kale grows in <em>winter</em>.</p>\n" + PIXEL, body_text="")

    migration_0017.derive_again(apps, schema_editor=None)

    stored = Post.objects.get(pk=post.pk)
    assert stored.body_text == "Kale grows in winter."
    assert stored.body_html == derive_body_html(body=body)
    assert "tracker.example" not in stored.body_html and 'alt="Pixel"' in stored.body_html
    assert 'src="/media/bed.jpg"' in stored.body_html


def test_posts_made_from_a_task_get_their_text_without_the_sources_section():
    editor, reviewer = editor_and_reviewer("text-editor", "text-reviewer")
    sources = [Source(1, "Editor's notes", quote="Private.", kind="pasted"),
               Source(2, "A practical guide", url="https://example.org/guide")]
    task = completed_task(created_by=editor, title="Rain barrels")
    formatted = format_article("# Rain barrels\n\nIt is hard work [1]. It pays [2].", fallback_title="x",
                               sources=sources)
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, seo=formatted.seo(), sources=[asdict(s) for s in sources])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    current = Post.objects.get(pk=post.pk)
    assert "## Sources" in current.body and "Editor's notes" in current.body
    Post.objects.filter(pk=post.pk).update(body_text="")

    migration_0017.derive_again(apps, schema_editor=None)

    stored = Post.objects.get(pk=post.pk)
    assert stored.body_text == "It is hard work. It pays."
    assert stored.body_html == current.body_html


def test_every_batch_is_derived_and_current_rows_are_not_written(monkeypatch):
    monkeypatch.setattr(migration_0017, "BATCH", 2)
    for n in range(5):
        Post.objects.create(title=f"Post {n}", slug=f"post-{n}", body=f"Text {n}.\n\n![](https://t.example/{n}.gif)")
    Post.objects.update(body_text="", body_html=PIXEL)

    migration_0017.derive_again(apps, schema_editor=None)
    assert sorted(Post.objects.values_list("body_text", flat=True)) == [f"Text {n}." for n in range(5)]
    assert not Post.objects.filter(body_html__contains="t.example").exists()

    with CaptureQueriesContext(connection) as captured:
        migration_0017.derive_again(apps, schema_editor=None)
    assert not [query for query in captured.captured_queries if query["sql"].startswith("UPDATE")]


def test_a_post_whose_own_sources_heading_took_the_lists_anchor_has_it_moved():
    editor, reviewer = editor_and_reviewer("anchors-editor", "anchors-reviewer")
    sources = [Source(1, "A practical guide", url="https://example.org/guide")]
    task = completed_task(created_by=editor, title="Rain barrels")
    formatted = format_article("# Rain barrels\n\nIt pays [1].\n\n## Sources\n\nWe read a guide [1].\n\n## Lids\n\nA.",
                               fallback_title="x", sources=sources)
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, seo=formatted.seo(), sources=[asdict(s) for s in sources])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    current = Post.objects.get(pk=post.pk).body_html
    assert '<h2 id="sources-2">Sources</h2>' in current and 'id="sources"' not in current
    # As the rule before stored it: the article's own heading held the page's list's anchor.
    Post.objects.filter(pk=post.pk).update(body_html=current.replace('id="sources-2"', 'id="sources"'))
    untouched = Post.objects.create(title="By hand", slug="by-hand", body="## Sources\n\nMy notes.")

    with CaptureQueriesContext(connection) as captured:
        migration_0019.derive_again(apps, schema_editor=None)

    assert Post.objects.get(pk=post.pk).body_html == current
    assert len([query for query in captured.captured_queries if query["sql"].startswith("UPDATE")]) == 1
    assert Post.objects.get(pk=untouched.pk).body_html == untouched.body_html
