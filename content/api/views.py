"""Content API views: thin, each reads through `visible_to` or calls `content.costs`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from content.api.serializers import EstimateInput, EstimateOutput, VersionOutput, VersionSummaryOutput
from content.costs import estimate
from tasks.models import GenerationTask
from tasks.services.lifecycle import default_model

TASK_ID = OpenApiParameter("task_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
NUMBER = OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Version number.")


def visible_task(request, task_id) -> GenerationTask:
    return get_object_or_404(GenerationTask.objects.visible_to(request.user), pk=task_id)


class VersionListApi(APIView):
    @extend_schema(tags=["versions"], summary="A task's versions, oldest first", parameters=[TASK_ID],
                   responses=VersionSummaryOutput(many=True))
    def get(self, request, task_id):
        task = visible_task(request, task_id)
        versions = task.versions.select_related("created_by").order_by("number")
        return Response(VersionSummaryOutput(versions, many=True).data)


class VersionDetailApi(APIView):
    @extend_schema(tags=["versions"], summary="One version with its full content and quality report",
                   parameters=[TASK_ID, NUMBER], responses=VersionOutput)
    def get(self, request, task_id, number):
        task = visible_task(request, task_id)
        version = get_object_or_404(task.versions.select_related("created_by"), number=number)
        return Response(VersionOutput(version, context={"request": request}).data)


class EstimateApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(tags=["tasks"], summary="Estimate tokens and cost of a brief before submitting it",
                   request=EstimateInput, responses=EstimateOutput)
    def post(self, request):
        brief = EstimateInput(data=request.data)
        brief.is_valid(raise_exception=True)
        data = brief.validated_data
        result = estimate(task_type=data["task_type"], word_count=data["word_count"],
                          model=data.get("model") or default_model())
        return Response(EstimateOutput(result.as_dict()).data)
