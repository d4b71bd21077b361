"""Migration 0012 derives the stored body of posts made from a task again, by today's rule."""

from __future__ import annotations

import importlib
from dataclasses import asdict

import pytest
from django.apps import apps

from content.formatting import format_article
from content.providers.base import Source
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.models import Post
from publishing.services.posts import task_publish
from tests.editorial import completed_task, editor_and_reviewer

pytestmark = pytest.mark.django_db

rederive = importlib.import_module("publishing.migrations.0012_rederive_body_html").rederive


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
