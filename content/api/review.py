"""Review endpoints: approve or reject, revoke an approval, edit the draft, restore a version.

One view per verb, each in the shape of `tasks.api.operations.TaskOperationApi`: find the task
among those the user may see (else 404), validate the body's shape with its input serializer
(400), call the verb of `content.services.review`, which owns every rule — who may (403), in
which state (409), what feedback a rejection needs (400) — and answer with the task or the new
version. Each names its input serializer, its verb and its own OpenAPI schema.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from content.api.serializers import ApprovalInput, DraftEditInput, EmptyInput, RevokeApprovalInput, VersionOutput
from content.api.views import NUMBER, TASK_ID
from content.services.review import (
    task_approve,
    task_edit_draft,
    task_reject,
    task_restore_version,
    task_revoke_approval,
)
from tasks.api.operations import TaskOperationApi, TaskPostOperationApi
from tasks.api.serializers import TaskOutput

REFUSALS = {
    400: OpenApiResponse(description="Invalid input, in the usual error body."),
    403: OpenApiResponse(description="Your role may not take this action (or the four-eyes rule forbids it)."),
    404: OpenApiResponse(description="No such task among those you may see."),
    409: OpenApiResponse(description="The task's state does not allow this action; the message says why."),
}


def task_operation_schema(tag: str, summary: str, description: str):
    """The OpenAPI schema of a POST operation answering with the task: its body is the view's
    `input_serializer`, its refusals `REFUSALS`."""
    def decorate(view):
        return extend_schema_view(post=extend_schema(
            tags=[tag], summary=summary, description=description, parameters=[TASK_ID],
            request=view.input_serializer, responses={200: TaskOutput, **REFUSALS},
        ))(view)
    return decorate


class VersionOperationApi(TaskOperationApi):
    # An operation whose verb writes a new version: the answer is that version, 201.

    def respond(self, task, result) -> Response:
        return Response(VersionOutput(result, context={"request": self.request}).data, status=status.HTTP_201_CREATED)


@task_operation_schema(
    "review", "Approve or reject the task's current version",
    "`approved: false` rejects it; a rejection needs feedback and at least one reason, and with "
    "`revise: true` the writer runs again with the feedback. Reviewers only; under the four-eyes "
    "rule not on a task you created.",
)
class ApprovalApi(TaskPostOperationApi):
    input_serializer = ApprovalInput

    def verb(self, task, data):
        if data["approved"]:
            return task_approve(task=task, by=self.request.user, feedback=data["feedback"],
                                seen_version=data["version"])
        return task_reject(task=task, by=self.request.user, feedback=data["feedback"], reasons=data["reasons"],
                           revise=data["revise"], target_words=data["target_words"], seen_version=data["version"])


@task_operation_schema("review", "Withdraw the approval of a task",
                       "The task returns to pending; its post, if published or scheduled, is unpublished.")
class RevokeApprovalApi(TaskPostOperationApi):
    input_serializer = RevokeApprovalInput

    def verb(self, task, data):
        return task_revoke_approval(task=task, by=self.request.user, feedback=data["feedback"])


class DraftEditApi(VersionOperationApi):
    input_serializer = DraftEditInput

    @extend_schema(
        tags=["review"], summary="Edit the current version's title, body or excerpt",
        description="The change becomes a new version (scored, not rewritten) awaiting review. "
        "409 when `base_version` is older than the current version.",
        parameters=[TASK_ID], request=DraftEditInput, responses={201: VersionOutput, **REFUSALS},
    )
    def patch(self, request, task_id):
        return self.operate(request, task_id)

    def verb(self, task, data):
        return task_edit_draft(task=task, by=self.request.user, **data)


@extend_schema_view(post=extend_schema(
    tags=["review"], summary="Make an earlier version current again",
    description="A new version copying version `number`, awaiting review. 400 when the task has "
    "no such version; 409 when it is not a whole piece or already current.",
    parameters=[TASK_ID, NUMBER], request=EmptyInput, responses={201: VersionOutput, **REFUSALS},
))
class VersionRestoreApi(TaskPostOperationApi, VersionOperationApi):
    input_serializer = EmptyInput

    def verb(self, task, data, number):
        try:
            number = int(number)  # the route takes digits only
        except ValueError:  # past 4,300 of them Python reads no int: the service refuses it as any non-number
            pass
        return task_restore_version(task=task, by=self.request.user, number=number)
