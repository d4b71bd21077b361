"""Publishing endpoints: thin views over `publishing.services.posts`.

Each, in the shape of `tasks.api.operations.TaskOperationApi`, finds the task among those the
user may see (else 404), validates the body (400) and calls the verb, which owns the rules: the
publish permission (403), an approved, completed blog post (409). The answer is the task, whose
`post` shows the result.
"""

from __future__ import annotations

from content.api.review import task_operation_schema
from publishing.api.serializers import PublishInput, UnpublishInput
from publishing.services.posts import task_publish, task_unpublish
from tasks.api.operations import TaskPostOperationApi


@task_operation_schema(
    "publishing", "Publish the approved version, now or at a later time",
    "The first publication creates the task's post at `/posts/<slug>/`; a later one (a newer "
    "approved version) updates the same post. Publishers (Reviewers) only.",
)
class PublishApi(TaskPostOperationApi):
    input_serializer = PublishInput

    def verb(self, task, data):
        return task_publish(task=task, by=self.request.user, at=data["at"])


@task_operation_schema("publishing", "Take the task's post off the blog, or cancel its scheduled publication",
                       "The post and its slug stay, to be published again. Publishers (Reviewers) only.")
class UnpublishApi(TaskPostOperationApi):
    input_serializer = UnpublishInput

    def verb(self, task, data):
        return task_unpublish(task=task, by=self.request.user, reason=data["reason"])
