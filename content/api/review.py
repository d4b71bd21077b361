"""Review endpoints: approve or reject, revoke an approval, edit the draft, restore a version.

One view per verb, each thin: find the task among those the user may see (else 404), validate
the body's shape with its input serializer (400), call the verb of `content.services.review`,
which owns every rule — who may (403), in which state (409), what feedback a rejection needs
(400) — and answer with the task or the new version. Errors reach the client through
`config.api.exception_handler` in the usual error body.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import BoundedJSONParser
from content.api.serializers import ApprovalInput, DraftEditInput, EmptyInput, RevokeApprovalInput, VersionOutput
from content.api.views import NUMBER, TASK_ID, visible_task
from content.services.review import (
    task_approve,
    task_edit_draft,
    task_reject,
    task_restore_version,
    task_revoke_approval,
)
from tasks.api.serializers import TaskOutput
from tasks.models import GenerationTask

REFUSALS = {
    400: OpenApiResponse(description="Invalid input, in the usual error body."),
    403: OpenApiResponse(description="Your role may not take this action (or the four-eyes rule forbids it)."),
    404: OpenApiResponse(description="No such task among those you may see."),
    409: OpenApiResponse(description="The task's state does not allow this action; the message says why."),
}


def validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def task_response(task: GenerationTask, request) -> Response:
    """The task as it is after the verb (the verb changed its own locked copy of the row)."""
    task = GenerationTask.objects.select_related("model", "created_by").get(pk=task.pk)
    return Response(TaskOutput(task, context={"request": request}).data)


def version_response(version, request) -> Response:
    return Response(VersionOutput(version, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ReviewApi(APIView):
    parser_classes = [BoundedJSONParser]


class ApprovalApi(ReviewApi):
    @extend_schema(
        tags=["review"], summary="Approve or reject the task's current version",
        description="`approved: false` rejects it; a rejection needs feedback and at least one reason, "
        "and with `revise: true` the writer runs again with the feedback. Reviewers only; under the "
        "four-eyes rule not on a task you created.",
        parameters=[TASK_ID], request=ApprovalInput, responses={200: TaskOutput, **REFUSALS},
    )
    def post(self, request, task_id):
        task = visible_task(request, task_id)
        data = validated(ApprovalInput, request)
        if data["approved"]:
            task_approve(task=task, by=request.user, feedback=data["feedback"], seen_version=data["version"])
        else:
            task_reject(task=task, by=request.user, feedback=data["feedback"], reasons=data["reasons"],
                        revise=data["revise"], target_words=data["target_words"], seen_version=data["version"])
        return task_response(task, request)


class RevokeApprovalApi(ReviewApi):
    @extend_schema(
        tags=["review"], summary="Withdraw the approval of a task",
        description="The task returns to pending; its post, if published or scheduled, is unpublished.",
        parameters=[TASK_ID], request=RevokeApprovalInput, responses={200: TaskOutput, **REFUSALS},
    )
    def post(self, request, task_id):
        task = visible_task(request, task_id)
        data = validated(RevokeApprovalInput, request)
        task_revoke_approval(task=task, by=request.user, feedback=data["feedback"])
        return task_response(task, request)


class DraftEditApi(ReviewApi):
    @extend_schema(
        tags=["review"], summary="Edit the current version's title, body or excerpt",
        description="The change becomes a new version (scored, not rewritten) awaiting review. "
        "409 when `base_version` is older than the current version.",
        parameters=[TASK_ID], request=DraftEditInput, responses={201: VersionOutput, **REFUSALS},
    )
    def patch(self, request, task_id):
        task = visible_task(request, task_id)
        data = validated(DraftEditInput, request)
        version = task_edit_draft(task=task, by=request.user, **data)
        return version_response(version, request)


class VersionRestoreApi(ReviewApi):
    @extend_schema(
        tags=["review"], summary="Make an earlier version current again",
        description="A new version copying version `number`, awaiting review. 400 when the task has "
        "no such version; 409 when it is not a whole piece or already current.",
        parameters=[TASK_ID, NUMBER], request=EmptyInput, responses={201: VersionOutput, **REFUSALS},
    )
    def post(self, request, task_id, number):
        task = visible_task(request, task_id)
        validated(EmptyInput, request)
        version = task_restore_version(task=task, by=request.user, number=int(number))
        return version_response(version, request)
