"""One shape for every API view that runs a verb on one task, whichever app owns the verb.

Cancel and retry (`tasks`), approve, revoke, edit and restore (`content`), publish and unpublish
(`publishing`) all answer the same way: find the task among those the user may see (else 404,
never a 403 that would confirm it exists), check the method's permission on it (403), validate
the body with the operation's input serializer (400), call the verb, and answer with the task as
the verb left it. The verb owns every rule; the domain errors it raises reach the client through
`config.api.exception_handler` in the usual error body, so no view maps an error itself.

It lives in `tasks`, the lowest app, so that `content` and `publishing` views build on it while
`tasks` imports neither of them.
"""

from __future__ import annotations

from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import BoundedJSONParser
from tasks.api.serializers import TaskOutput
from tasks.models import GenerationTask


def visible_tasks(user):
    """The tasks `user` may see, with what `TaskOutput` shows of them joined."""
    return GenerationTask.objects.visible_to(user).select_related("model", "created_by")


def task_body(task: GenerationTask, request, *, post_summaries: dict | None = None) -> dict:
    """The task as the API shows it. `post_summaries` ({task id: post}) spares the post lookup when
    the caller already knows, e.g. `{}` for a task created by this very request."""
    context = {"request": request}
    if post_summaries is not None:
        context["post_summaries"] = post_summaries
    return TaskOutput(task, context=context).data


# No docstrings on these classes: drf-spectacular would show them as the description of every
# operation that does not write its own.
class TaskOperationApi(APIView):
    # A subclass names its `input_serializer` (None: the operation takes no body), its `verb`, and
    # the HTTP method that runs `operate`, under its own `extend_schema`.

    parser_classes = [BoundedJSONParser]
    input_serializer = None

    def get_task(self, task_id) -> GenerationTask:
        """The task if the user may see it (else 404), then the method's permission (else 403)."""
        task = get_object_or_404(visible_tasks(self.request.user), pk=task_id)
        self.check_object_permissions(self.request, task)
        return task

    def validated(self, serializer_class, data=None, **options) -> dict:
        """The body (or `data`) checked by `serializer_class`; a ValidationError is the 400."""
        serializer = serializer_class(data=self.request.data if data is None else data, **options)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def operate(self, request, task_id, **arguments) -> Response:
        """The handler of the operation's HTTP method; `arguments` are the URL's other parts."""
        task = self.get_task(task_id)
        data = {} if self.input_serializer is None else self.validated(self.input_serializer)
        result = self.verb(task, data, **arguments)
        return self.respond(task, result)

    def verb(self, task: GenerationTask, data: dict, **arguments):
        """Call the service verb with the user as `by`; what it returns goes to `respond`."""
        raise NotImplementedError

    def respond(self, task: GenerationTask, result) -> Response:
        """The task as it is after the verb, read again: verbs change their own locked copy."""
        task = GenerationTask.objects.select_related("model", "created_by").get(pk=task.pk)
        return Response(task_body(task, self.request))


class TaskPostOperationApi(TaskOperationApi):
    # An operation sent as POST, as most verbs are; a subclass declares its schema with
    # `extend_schema_view(post=extend_schema(...))`, which leaves this class's `post` untouched.

    def post(self, request, task_id, **arguments) -> Response:
        return self.operate(request, task_id, **arguments)
