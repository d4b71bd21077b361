"""Which model permission each task operation needs, declared on the view per HTTP method.

A view acting on one task names its permissions in `task_permissions`; they are checked only
after the task was found among those the user may see (`GenerationTask.objects.visible_to`), so a
task someone else owns is a 404 for every verb rather than a 403 that would confirm it exists.
The collection view names its own in `collection_permissions`, checked before the handler runs.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class TaskActionPermission(BasePermission):
    message = "Your role does not allow this operation on tasks."

    def has_permission(self, request, view) -> bool:
        perm = getattr(view, "collection_permissions", {}).get(request.method)
        return perm is None or request.user.has_perm(perm)

    def has_object_permission(self, request, view, obj) -> bool:
        perm = getattr(view, "task_permissions", {}).get(request.method)
        return perm is None or request.user.has_perm(perm)
