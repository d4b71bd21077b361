"""Task API views: one class per URL, one method per operation, each with its own serializers.

REST puts several operations on one URL (`GET`/`POST /tasks`, `GET`/`PATCH`/`DELETE
/tasks/{id}`), and Django routes a URL to one view, so a view class holds the operations of its
URL and declares per method what differs: the permission (`permissions.TaskActionPermission`)
and the creation throttle. Views on one task take the shape of `tasks.api.operations`
(shared with the content and publishing verbs): the task is looked up through
`GenerationTask.objects.visible_to`, so a task the user may not see is a 404 whatever the verb.
"""

from __future__ import annotations

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from config.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import BoundedJSONParser
from config.postgresql.base import planned_for_its_values
from config.api_schema import ErrorOutput
from tasks.api.filters import BoundedSearchFilter, StableOrderingFilter, TaskFilter
from tasks.api.operations import TaskOperationApi, TaskPostOperationApi, task_body, visible_tasks
from tasks.api.permissions import TaskActionPermission
from tasks.api.serializers import (
    CatalogEntryOutput,
    PhaseStepOutput,
    TaskCreateInput,
    TaskEventOutput,
    TaskEventsQuery,
    TaskOutput,
    TaskUpdateInput,
)
from tasks.models import GenerationTask, ModelCatalogEntry
from tasks.selectors import phase_timeline
from tasks.services import task_cancel, task_create, task_delete, task_retry, task_update

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200  # GenerationTask.idempotency_key

TASK_ID = OpenApiParameter("task_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The task's id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Repeating a request with the same key returns the task the first one created "
    "(header `Idempotent-Replayed: true`); the same key with a different body is a 422.",
)
WRITE_PERMISSIONS = [IsAuthenticated, TaskActionPermission]
CONFLICT = {409: OpenApiResponse(ErrorOutput, description="The task's state does not allow this; the message says why.")}
BUDGET_EXCEEDED = OpenApiResponse(ErrorOutput, description=(
    "Code `budget_exceeded`: the brief's estimate would take the site's or your monthly cost budget past its "
    "limit; `error.budget` gives `scope` (site or user), `limit`, `spent`, `estimate` and `remaining` (USD)."))


def idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise serializers.ValidationError(
            {IDEMPOTENCY_HEADER: [f"Ensure this header has no more than {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
        )
    return key


class TaskCollectionApi(GenericAPIView):
    permission_classes = WRITE_PERMISSIONS
    collection_permissions = {"GET": "tasks.view_generationtask", "POST": "tasks.add_generationtask"}
    parser_classes = [BoundedJSONParser]
    serializer_class = TaskCreateInput  # what OPTIONS describes for POST; each method names its own
    queryset = GenerationTask.objects.none()  # names the model for the schema; get_queryset() is what runs
    filter_backends = [DjangoFilterBackend, BoundedSearchFilter, StableOrderingFilter]
    filterset_class = TaskFilter
    search_fields = ["title", "topic"]
    ordering_fields = ["created_at", "priority", "status", "progress", "updated_at"]
    ordering = ["-created_at"]
    throttle_scope = "task_create"

    def get_queryset(self):
        return visible_tasks(self.request.user)

    def get_throttles(self):
        # Creating costs model calls; reading costs nothing worth limiting.
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(tags=["tasks"], summary="List the tasks you may see", responses=TaskOutput(many=True))
    def get(self, request):
        # Planned for its filters, as the admin's lists (config/admin_site.py): at 50,000 tasks a
        # generic plan made the list of running tasks take 34 ms instead of 16.
        tasks = self.filter_queryset(self.get_queryset())  # a bad filter is its 400 before the block
        with planned_for_its_values(GenerationTask):
            page = self.paginate_queryset(tasks)
            return self.get_paginated_response(TaskOutput(page, many=True, context={"request": request}).data)

    @extend_schema(
        tags=["tasks"],
        summary="Queue a new task from a brief",
        request=TaskCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TaskOutput, 409: BUDGET_EXCEEDED,
                   422: OpenApiResponse(ErrorOutput, description="The Idempotency-Key was "
                                        "already used with a different body.")},
    )
    def post(self, request):
        key = idempotency_key(request)
        serializer = TaskCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        task, created = task_create(created_by=request.user, brief=serializer.validated_data, idempotency_key=key)
        body = task_body(task, request, post_summaries={} if created else None)  # a new task has no post
        headers = {"Location": body["url"]}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class TaskDetailApi(TaskOperationApi):
    permission_classes = WRITE_PERMISSIONS
    task_permissions = {"PATCH": "tasks.change_generationtask", "DELETE": "tasks.delete_generationtask"}

    @extend_schema(tags=["tasks"], summary="One task", parameters=[TASK_ID], responses=TaskOutput)
    def get(self, request, task_id):
        return Response(task_body(self.get_task(task_id), request))

    @extend_schema(
        tags=["tasks"],
        summary="Change the title, priority or brief of a queued task",
        description="409 once a worker has claimed the task.",
        parameters=[TASK_ID],
        request=TaskUpdateInput,
        responses={200: TaskOutput, **CONFLICT},
    )
    def patch(self, request, task_id):
        task = self.get_task(task_id)
        changes = self.validated(TaskUpdateInput, partial=True, context={"metadata": task.metadata})
        task = task_update(task=task, by=request.user, changes=changes)
        return Response(task_body(task, request))

    @extend_schema(
        tags=["tasks"],
        summary="Delete a queued or finished task",
        description="409 for a running task, or one whose audit trail or post must be kept.",
        parameters=[TASK_ID],
        responses={204: OpenApiResponse(description="Deleted."), **CONFLICT},
    )
    def delete(self, request, task_id):
        task_delete(task=self.get_task(task_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskStateChangeApi(TaskPostOperationApi):
    # A verb that moves the task to another state: it needs the change permission.

    permission_classes = WRITE_PERMISSIONS
    task_permissions = {"POST": "tasks.change_generationtask"}
    verb = None  # a `tasks.services` verb: verb(*, task, by) -> GenerationTask


def state_change_schema(summary: str, description: str):
    return extend_schema_view(post=extend_schema(
        tags=["tasks"], summary=summary, description=description, parameters=[TASK_ID], request=None,
        responses={200: TaskOutput, **CONFLICT},
    ))


@state_change_schema(
    "Cancel a queued task, or ask a running one to stop",
    "A running task comes back still running, with `cancel_requested_at` set; its worker stops it. "
    "409 for a finished task.",
)
class TaskCancelApi(TaskStateChangeApi):
    def verb(self, task, data):
        return task_cancel(task=task, by=self.request.user)


@state_change_schema(
    "Queue a failed, timed-out or cancelled task again",
    "It resumes after its last finished stage. 409 for a task in any other state, or (`budget_exceeded`) "
    "when the retry's estimate would exceed this month's budget of the site or of the task's creator.",
)
class TaskRetryApi(TaskStateChangeApi):
    def verb(self, task, data):
        return task_retry(task=task, by=self.request.user)


class TaskEventListApi(TaskOperationApi):
    @extend_schema(
        tags=["tasks"],
        summary="The task's progress events after a sequence number, oldest first",
        parameters=[TASK_ID, TaskEventsQuery],
        responses=TaskEventOutput(many=True),
    )
    def get(self, request, task_id):
        task = self.get_task(task_id)
        query = self.validated(TaskEventsQuery, data=request.query_params)
        events = task.events.filter(sequence__gt=query["after"]).order_by("sequence")
        return Response(TaskEventOutput(events[: query["limit"]], many=True).data)


class TaskTimelineApi(TaskOperationApi):
    @extend_schema(
        tags=["tasks"],
        summary="The task's phases in order, each with its state and how long it ran",
        parameters=[TASK_ID],
        responses=PhaseStepOutput(many=True),
    )
    def get(self, request, task_id):
        task = self.get_task(task_id)
        return Response(PhaseStepOutput(phase_timeline(task, now=timezone.now()), many=True).data)


class ModelListApi(APIView):
    permission_classes = WRITE_PERMISSIONS
    collection_permissions = {"GET": "tasks.view_modelcatalogentry"}

    @extend_schema(tags=["models"], summary="The models a brief may name, with their prices (USD per million tokens)",
                   responses=CatalogEntryOutput(many=True))
    def get(self, request):
        return Response(CatalogEntryOutput(ModelCatalogEntry.objects.enabled(), many=True).data)
