"""The one shape of the views that run a verb on one task (`tasks.api.operations`).

Cancel, retry, approve, revoke, edit, restore, publish and unpublish all build on it, so what is
pinned here holds for each: 404 before anything else for a task the user may not see, then the
method's permission (403), then the body (400), then the verb, whose domain error is the usual
error body with its own status, and the task read again after the verb.
"""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIRequestFactory, force_authenticate

from tasks.api.operations import TaskPostOperationApi
from tasks.api.permissions import TaskActionPermission
from tasks.exceptions import InvalidTransition
from tasks.models import GenerationTask
from tests.factories import make_task

pytestmark = pytest.mark.django_db


class RenameInput(serializers.Serializer):
    title = serializers.CharField(max_length=50)


class RenameApi(TaskPostOperationApi):
    input_serializer = RenameInput
    calls: list = []

    def verb(self, task, data):
        self.calls.append(task.pk)
        if data["title"] == "refused":
            raise InvalidTransition("Not in this state.")
        # Like a real verb, change the row through another copy than the view's.
        GenerationTask.objects.filter(pk=task.pk).update(title=data["title"])


class GuardedRenameApi(RenameApi):
    permission_classes = [IsAuthenticated, TaskActionPermission]
    task_permissions = {"POST": "tasks.no_such_permission"}


@pytest.fixture(autouse=True)
def _no_calls():
    RenameApi.calls = []


def send(view, user, task, body):
    request = APIRequestFactory().post("/", body, format="json")
    force_authenticate(request, user)
    response = view.as_view()(request, task_id=str(task.pk))
    response.render()
    return response


def test_the_answer_is_the_task_as_the_verb_left_it(editor):
    task = make_task(created_by=editor, title="Old")

    response = send(RenameApi, editor, task, {"title": "New"})

    assert response.status_code == 200, response.content
    assert response.data["id"] == str(task.pk)
    assert response.data["title"] == "New"


@pytest.mark.parametrize(("view", "owner", "body", "status", "code"), [
    pytest.param(RenameApi, "other_editor", {"title": "New"}, 404, "not_found", id="task-not-visible"),
    pytest.param(GuardedRenameApi, "editor", {"title": "New"}, 403, "permission_denied", id="no-permission"),
    pytest.param(RenameApi, "editor", {"title": "x" * 51}, 400, "invalid", id="invalid-body"),
])
def test_a_refused_request_is_the_usual_error_body_and_the_verb_does_not_run(
    request, editor, view, owner, body, status, code,
):
    task = make_task(created_by=request.getfixturevalue(owner), title="Old")

    response = send(view, editor, task, body)

    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert RenameApi.calls == []
    assert GenerationTask.objects.get(pk=task.pk).title == "Old"


def test_an_invalid_body_names_the_field(editor):
    response = send(RenameApi, editor, make_task(created_by=editor), {"title": "x" * 51})

    assert list(response.data["error"]["fields"]) == ["title"]


def test_the_verbs_domain_error_is_the_usual_error_body_with_its_status(editor):
    task = make_task(created_by=editor, title="Old")

    response = send(RenameApi, editor, task, {"title": "refused"})

    assert response.status_code == 409
    assert response.data == {"error": {"code": "invalid_transition", "message": "Not in this state.", "fields": {}}}
    assert GenerationTask.objects.get(pk=task.pk).title == "Old"
