"""The task page's publishing forms against hostile input: the unpublish reason, kept in the
append-only audit trail, is held to the length every other decision's feedback is held to
(`content.services.review.FEEDBACK_MAX_LENGTH`); a 2,000,000-character reason was stored for good."""

from __future__ import annotations

import pytest
from django.urls import reverse

from content.models import ApprovalEvent, Decision
from content.services.review import FEEDBACK_MAX_LENGTH, task_approve
from publishing.models import Post
from publishing.services.posts import task_publish
from tests.editorial import completed_task
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(editor, reviewer):
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    task_publish(task=task, by=reviewer)
    return task


def unpublish(client, task, reason: str):
    return client.post(reverse("admin:tasks_generationtask_action", args=[task.pk, "unpublish"]),
                       {"unpublish-reason": reason})


def test_an_unpublish_reason_longer_than_any_feedback_is_refused_and_the_post_stays_up(reviewer, published):
    response = unpublish(client_for(reviewer), published, "R" * (FEEDBACK_MAX_LENGTH + 1))

    assert response.status_code == 200
    assert "reason" in response.context["refused_action"].form.errors
    assert Post.objects.get(task=published).is_public
    assert not ApprovalEvent.objects.filter(task=published, decision=Decision.UNPUBLISHED).exists()


def test_an_unpublish_reason_of_the_longest_feedback_is_kept(reviewer, published):
    response = unpublish(client_for(reviewer), published, "R" * FEEDBACK_MAX_LENGTH)

    assert response.status_code == 302
    event = ApprovalEvent.objects.get(task=published, decision=Decision.UNPUBLISHED)
    assert len(event.feedback) == FEEDBACK_MAX_LENGTH
