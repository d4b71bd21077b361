"""Builders for editorial tests: a completed task whose pipeline left a formatted version."""

from __future__ import annotations

from django.utils import timezone

from content.services.versions import version_create
from tasks.models import GenerationTask
from tests.factories import make_task, make_user

ARTICLE = """# Composting at home

Composting turns kitchen scraps into soil [1].

## What goes in

Greens and browns, in roughly equal parts.

## Sources

1. [Compost guide](https://example.org/compost)
"""


def completed_task(*, created_by, title: str = "Composting at home", body: str = ARTICLE,
                   slug: str = "composting-at-home", **fields) -> GenerationTask:
    """A blog_post task that completed with research, draft and format versions (format is current);
    `slug` is the format stage's, empty for none."""
    fields.setdefault("topic", "Composting at home")
    fields.setdefault("category", "Gardening")
    fields.setdefault("tags", ["compost", "soil"])
    task = make_task(created_by=created_by, **fields)
    version_create(task=task, phase="research", title="Research notes", body="Notes",
                   sources=[{"number": 1, "title": "Compost guide", "url": "https://example.org/compost",
                             "quote": "", "kind": "web"}])
    version_create(task=task, phase="draft", title=title, body=body)
    version_create(task=task, phase="format", title=title, body=body, body_html="<p>Composting turns kitchen scraps "
                   "into soil.</p>", excerpt="Composting turns kitchen scraps into soil.",
                   seo={"slug": slug, "seo_title": title, "meta_description": "Compost.",
                        "reading_time_minutes": 1, "toc": []},
                   sources=[{"number": 1, "title": "Compost guide", "url": "https://example.org/compost",
                             "quote": "", "kind": "web"}])
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", finished_at=timezone.now(), progress=100)
    task.refresh_from_db()
    return task


def editor_and_reviewer(editor_name: str, reviewer_name: str):
    """Two new users: one in the Editors group, one in the Reviewers group."""
    from tests.conftest import role

    editor, reviewer = make_user(editor_name), make_user(reviewer_name)
    editor.groups.add(role("Editors"))
    reviewer.groups.add(role("Reviewers"))
    return editor, reviewer
