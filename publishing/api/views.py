"""Publishing endpoints: thin views over `publishing.services.posts`.

Each finds the task among those the user may see (else 404), validates the body (400) and calls
the verb, which owns the rules: the publish permission (403), an approved, completed blog post
(409). The answer is the task, whose `post` shows the result.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from content.api.review import REFUSALS, ReviewApi, task_response, validated
from content.api.views import TASK_ID, visible_task
from publishing.api.serializers import PublishInput, UnpublishInput
from publishing.services.posts import task_publish, task_unpublish
from tasks.api.serializers import TaskOutput


class PublishApi(ReviewApi):
    @extend_schema(
        tags=["publishing"], summary="Publish the approved version, now or at a later time",
        description="The first publication creates the task's post at `/posts/<slug>/`; a later one "
        "(a newer approved version) updates the same post. Publishers (Reviewers) only.",
        parameters=[TASK_ID], request=PublishInput, responses={200: TaskOutput, **REFUSALS},
    )
    def post(self, request, task_id):
        task = visible_task(request, task_id)
        data = validated(PublishInput, request)
        task_publish(task=task, by=request.user, at=data["at"])
        return task_response(task, request)


class UnpublishApi(ReviewApi):
    @extend_schema(
        tags=["publishing"], summary="Take the task's post off the blog, or cancel its scheduled publication",
        description="The post and its slug stay, to be published again. Publishers (Reviewers) only.",
        parameters=[TASK_ID], request=UnpublishInput, responses={200: TaskOutput, **REFUSALS},
    )
    def post(self, request, task_id):
        task = visible_task(request, task_id)
        data = validated(UnpublishInput, request)
        task_unpublish(task=task, by=request.user, reason=data["reason"])
        return task_response(task, request)
