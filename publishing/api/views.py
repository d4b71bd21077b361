"""Publishing endpoints: thin views over `publishing.services.posts`.

Each, in the shape of `tasks.api.operations.TaskOperationApi`, finds the task among those the
user may see (else 404), validates the body (400) and calls the verb, which owns the rules: the
publish permission (403), an approved, completed blog post (409). The answer is the task, whose `post` shows the result.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from content.api.review import REFUSALS
from content.api.views import TASK_ID
from publishing.api.serializers import PublishInput, UnpublishInput
from publishing.services.posts import task_publish, task_unpublish
from tasks.api.operations import TaskPostOperationApi
from tasks.api.serializers import TaskOutput


@extend_schema_view(post=extend_schema(
    tags=["publishing"], summary="Publish the approved version, now or at a later time",
    description="The first publication creates the task's post at `/posts/<slug>/`; a later one "
    "(a newer approved version) updates the same post. Publishers (Reviewers) only.",
    parameters=[TASK_ID], request=PublishInput, responses={200: TaskOutput, **REFUSALS},
))
class PublishApi(TaskPostOperationApi):
    input_serializer = PublishInput

    def verb(self, task, data):
        return task_publish(task=task, by=self.request.user, at=data["at"])


@extend_schema_view(post=extend_schema(
    tags=["publishing"], summary="Take the task's post off the blog, or cancel its scheduled publication",
    description="The post and its slug stay, to be published again. Publishers (Reviewers) only.",
    parameters=[TASK_ID], request=UnpublishInput, responses={200: TaskOutput, **REFUSALS},
))
class UnpublishApi(TaskPostOperationApi):
    input_serializer = UnpublishInput

    def verb(self, task, data):
        return task_unpublish(task=task, by=self.request.user, reason=data["reason"])
