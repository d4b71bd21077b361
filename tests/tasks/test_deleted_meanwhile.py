"""A task deleted while a verb was on its way (found, then someone else's delete committed before
the verb locked the row): the verb raises `NoLongerExists`, which the API answers with 404 and the
admin shows as a message. Before, the ORM's DoesNotExist escaped every verb as a 500."""

from __future__ import annotations

import pytest

from content.services.review import task_approve, task_edit_draft, task_reject
from publishing.services.posts import task_publish
from tasks.exceptions import NoLongerExists
from tasks.models import GenerationTask
from tasks.services import task_cancel, task_retry, task_update
from tests.editorial import completed_task
from tests.factories import make_task

pytestmark = pytest.mark.django_db


def deleted_meanwhile(task: GenerationTask) -> GenerationTask:
    """The caller's copy of `task`, whose row another session has deleted since."""
    copy = GenerationTask.objects.get(pk=task.pk)
    GenerationTask.objects.filter(pk=task.pk).delete()
    return copy


@pytest.mark.parametrize("verb", [
    lambda task, by: task_approve(task=task, by=by),
    lambda task, by: task_reject(task=task, by=by, feedback="No.", reasons=["quality"]),
    lambda task, by: task_edit_draft(task=task, by=by, title="A new title"),
    lambda task, by: task_publish(task=task, by=by),
    lambda task, by: task_retry(task=task, by=by),
], ids=["approve", "reject", "edit", "publish", "retry"])
def test_a_verb_on_a_completed_task_deleted_meanwhile_is_not_found(editor, reviewer, verb):
    stale = deleted_meanwhile(completed_task(created_by=editor))

    with pytest.raises(NoLongerExists, match="deleted meanwhile") as raised:
        verb(stale, reviewer)
    assert raised.value.status_code == 404


@pytest.mark.parametrize("verb", [
    lambda task, by: task_cancel(task=task, by=by),
    lambda task, by: task_update(task=task, by=by, changes={"priority": 5}),
], ids=["cancel", "update"])
def test_a_verb_on_a_queued_task_deleted_meanwhile_is_not_found(editor, verb):
    stale = deleted_meanwhile(make_task(created_by=editor))

    with pytest.raises(NoLongerExists):
        verb(stale, editor)
    assert not GenerationTask.objects.exists()
