"""Who may see a task: the one rule, for the model's queryset, the API, the admin and the WebSockets.

Editors see the tasks they created; holders of `tasks.view_all_tasks` (Reviewers, superusers)
see every task; anonymous and inactive users see none. `GenerationTask.objects.visible_to(user)`
filters by it, and the WebSocket consumers, which must not query the database for each live
event, take a `TaskVisibility` when they connect (and again at each access re-check, from a
freshly read user) and ask it about each task's owner.
`tests/tasks/test_visibility.py` pins the same table through the API, the admin and the sockets.
Imports nothing from the rest of the project, so the models can use it.
"""

from __future__ import annotations

from dataclasses import dataclass

VIEW_ALL_PERMISSION = "tasks.view_all_tasks"


@dataclass(frozen=True)
class TaskVisibility:
    """What one user may see, decided once: every task (`sees_all`), those `user_id` created, or none."""

    user_id: object = None
    sees_all: bool = False

    @classmethod
    def of(cls, user) -> TaskVisibility:
        """Read the user's permissions (a database query the first time for a given user object)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return cls()
        return cls(user_id=user.pk, sees_all=user.has_perm(VIEW_ALL_PERMISSION))

    def allows(self, owner_id) -> bool:
        """May this user see a task that `owner_id` created (None: created by no one still here)?"""
        return self.sees_all or (self.user_id is not None and owner_id == self.user_id)

    def filter(self, tasks):
        """The tasks of the queryset `tasks` this user may see."""
        return self._created_by_them(tasks, "created_by_id")

    def filter_rows(self, rows, task_path: str = "task"):
        """The rows of the queryset `rows` whose task (the non-null foreign key `task_path`) this
        user may see. One who sees every task sees every row, with no look at the task table: a
        filter by the visible tasks put a semi-join with all of them into each list and sum
        (633 ms to count the events' list at 1,000,000 tasks, docs/performance.md)."""
        return self._created_by_them(rows, f"{task_path}__created_by_id")

    def _created_by_them(self, queryset, creator: str):
        """`queryset` whole for one who sees every task, empty for one who sees none, else the rows
        whose `creator` lookup is this user."""
        if self.sees_all:
            return queryset
        if self.user_id is None:
            return queryset.none()
        return queryset.filter(**{creator: self.user_id})
