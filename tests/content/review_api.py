"""What the review API tests share: a completed blog post, its edited draft, a valid rejection."""

from __future__ import annotations

from django.utils import timezone

from content.services.versions import version_create
from tasks.models import GenerationTask
from tests.factories import make_task

BODY = "# Composting at home\n\nComposting turns kitchen scraps into soil.\n\nGreens and browns, in equal parts."
NEW_BODY = "# Composting at home\n\nComposting turns kitchen scraps into rich soil in a few months.\n\nKeep it moist."
REJECTION = {"approved": False, "feedback": "The second section repeats the first.", "reasons": ["structure"]}


def completed_task(*, created_by, body: str = BODY, **fields) -> GenerationTask:
    """A blog post whose pipeline finished: a draft (version 1) and its formatted version (2)."""
    task = make_task(created_by=created_by, **fields)
    version_create(task=task, phase="draft", title="Composting at home", body=body)
    version_create(task=task, phase="format", title="Composting at home", body=body,
                   body_html="<p>Composting turns kitchen scraps into soil.</p>", excerpt="Compost.")
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", finished_at=timezone.now(), progress=100)
    task.refresh_from_db()
    return task


def edited_task(client, *, created_by) -> GenerationTask:
    """A completed post whose draft `client` then edited to NEW_BODY: version 3."""
    task = completed_task(created_by=created_by)
    response = client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})
    assert response.status_code == 201, response.content
    return task
