"""Content API reads: a task's versions, the diff of two, its audit trail, cost estimates.

Thin: each reads through `GenerationTask.objects.visible_to` (a task the user may not see is a
404) and a selector of `content.selectors` or `content.costs`. The review verbs are in
`content.api.review`. A task's versions and decisions are pages of the API's one pagination
(`config.api.StandardPagination`: `page`, `page_size`), as every list of the API is: a task
revised for years has a thousand versions, and the whole list was one answer of 236 kB.
"""

from __future__ import annotations

import difflib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import BoundedJSONParser
from content.api.serializers import (
    ApprovalEventOutput,
    EstimateInput,
    EstimateOutput,
    VersionDiffOutput,
    VersionOutput,
    VersionSummaryOutput,
)
from content.costs import estimate
from content.selectors import DIFF_MAX_LINES, audit_trail, version_diff
from tasks.api.permissions import TaskActionPermission
from tasks.models import GenerationTask
from tasks.services.budgets import budget_statuses
from tasks.services.lifecycle import default_model

TASK_ID = OpenApiParameter("task_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
NUMBER = OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Version number.")


FROM = OpenApiParameter("a", OpenApiTypes.INT, OpenApiParameter.PATH, description="Number of the left-hand version.")
TO = OpenApiParameter("b", OpenApiTypes.INT, OpenApiParameter.PATH, description="Number of the right-hand version.")


def visible_task(request, task_id) -> GenerationTask:
    return get_object_or_404(GenerationTask.objects.visible_to(request.user), pk=task_id)


def unified_diff(rows: list[dict], *, a: int, b: int) -> str:
    """The side-by-side rows of `version_diff` as a unified diff (the two texts are the rows'
    left lines without inserts and right lines without deletes). As in the rows, lines past
    DIFF_MAX_LINES a side are not matched: they follow as one last hunk, removed and added."""
    left = [row["left"] for row in rows if row["kind"] != "insert"]
    right = [row["right"] for row in rows if row["kind"] != "delete"]
    header = [f"--- version {a}", f"+++ version {b}"]
    lines = list(difflib.unified_diff(left[:DIFF_MAX_LINES], right[:DIFF_MAX_LINES], fromfile=f"version {a}",
                                      tofile=f"version {b}", lineterm=""))
    rest_left, rest_right = left[DIFF_MAX_LINES:], right[DIFF_MAX_LINES:]
    if rest_left != rest_right:
        lines = (lines or header) + [
            f"@@ -{DIFF_MAX_LINES + 1},{len(rest_left)} +{DIFF_MAX_LINES + 1},{len(rest_right)} @@",
            *(f"-{line}" for line in rest_left), *(f"+{line}" for line in rest_right),
        ]
    return "\n".join(lines)


class TaskRowsPageApi(GenericAPIView):
    """A page of one kind of row of a task, oldest first, in the envelope of every list of the API
    (`{"count", "next", "previous", "results"}`); a page that does not exist is a 404."""

    filter_backends = []  # no search or ordering: the order is the history's own
    output = None  # the serializer of one row

    def rows(self, task):
        raise NotImplementedError

    def get(self, request, task_id):
        page = self.paginate_queryset(self.rows(visible_task(request, task_id)))
        return self.get_paginated_response(self.output(page, many=True).data)


@extend_schema_view(get=extend_schema(tags=["versions"], summary="A task's versions, oldest first, a page at a time",
                                       parameters=[TASK_ID], responses=VersionSummaryOutput(many=True)))
class VersionListApi(TaskRowsPageApi):
    output = VersionSummaryOutput

    def rows(self, task):
        return task.versions.select_related("created_by").order_by("number")


class VersionDetailApi(APIView):
    @extend_schema(tags=["versions"], summary="One version with its full content and quality report",
                   parameters=[TASK_ID, NUMBER], responses=VersionOutput)
    def get(self, request, task_id, number):
        task = visible_task(request, task_id)
        version = get_object_or_404(task.versions.select_related("created_by"), number=number)
        return Response(VersionOutput(version, context={"request": request}).data)


class VersionDiffApi(APIView):
    @extend_schema(tags=["versions"], summary="Compare two versions of a task line by line",
                   description="404 when either version does not exist.",
                   parameters=[TASK_ID, FROM, TO], responses=VersionDiffOutput)
    def get(self, request, task_id, a, b):
        task = visible_task(request, task_id)
        left = get_object_or_404(task.versions, number=a)
        right = get_object_or_404(task.versions, number=b)
        rows = version_diff(left, right)
        return Response(VersionDiffOutput({"from": left.number, "to": right.number, "rows": rows,
                                           "unified": unified_diff(rows, a=left.number, b=right.number)}).data)


@extend_schema_view(get=extend_schema(
    tags=["review"], summary="The task's audit trail: editorial decisions, oldest first, a page at a time",
    parameters=[TASK_ID], responses=ApprovalEventOutput(many=True)))
class ApprovalListApi(TaskRowsPageApi):
    output = ApprovalEventOutput

    def rows(self, task):
        return audit_trail(task)


class EstimateApi(APIView):
    # Estimating is the first step of creating a task: it needs the same permission.
    permission_classes = [IsAuthenticated, TaskActionPermission]
    collection_permissions = {"POST": "tasks.add_generationtask"}
    parser_classes = [BoundedJSONParser]

    @extend_schema(tags=["tasks"], summary="Estimate tokens and cost of a brief before submitting it",
                   description="Also says, for each monthly budget that applies to you, whether creating the "
                   "brief now would exceed it (creation would then be refused with 409 `budget_exceeded`).",
                   request=EstimateInput, responses=EstimateOutput)
    def post(self, request):
        brief = EstimateInput(data=request.data)
        brief.is_valid(raise_exception=True)
        data = brief.validated_data
        result = estimate(task_type=data["task_type"], word_count=data["word_count"],
                          model=data.get("model") or default_model())
        budgets = [status.as_dict() for status in budget_statuses(request.user, estimate=result.cost)]
        body = {**result.as_dict(), "budgets": budgets, "would_exceed": any(b["would_exceed"] for b in budgets)}
        return Response(EstimateOutput(body).data)
