"""The admin of a task's history: its progress events and stage checkpoints, shown, never edited.

Events and checkpoints are written by the pipeline and kept append-only (`tasks.models.append_only`);
here they are rows to read, inline on the task page and in their own lists, each visible exactly
where its task is (`VisibleTaskRowsMixin`, through `TaskVisibility.filter_rows`).
`content.admin` builds its own history admins on the two mixins. Imports nothing outside `tasks`.
"""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from tasks.models import Phase, StageCheckpoint, TaskEvent
from tasks.visibility import TaskVisibility

MESSAGE_PREVIEW_CHARS = 80
TASK_PREVIEW_CHARS = 60  # a task named in a list of its events, versions or decisions
# A task's page shows the newest rows of its history; the rest are in the row's own list, linked.
# A task of 100,000 events rendered every one: 168 MB of page in 135 s.
HISTORY_ROWS_SHOWN = 50


class PhaseFilter(admin.ChoicesFieldListFilter):
    """The phases, the option of a task (or event) in none of them named "No phase" rather than its dash."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] == Phase.NONE.label:
                choice["display"] = "No phase"
            yield choice


class AppendOnlyAdminMixin:
    """History rows are written by the application, never through a form: the admin only shows them.

    Returning False here binds superusers too, which `user.has_perm` alone would not.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class VisibleTaskRowsMixin:
    """Rows that belong to a task are visible exactly where their task is."""

    task_path = "task"

    def get_queryset(self, request):
        return TaskVisibility.of(request.user).filter_rows(super().get_queryset(request), self.task_path)


def rows_list_url(model, field: str, owner) -> str:
    """The admin list of `model`'s rows whose `field` is `owner`: where a page that shows the newest
    rows of a history links "All N …" (admin/tasks/newest_rows_note.html)."""
    opts = model._meta
    return f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_changelist')}?{field}__id__exact={owner.pk}"


def rows_of_task_url(model, task) -> str:
    """The admin list of `model`'s rows, filtered to `task`: where a task page links "All N …"."""
    return rows_list_url(model, "task", task)


class NewestRowsFormSet(BaseInlineFormSet):
    """The newest HISTORY_ROWS_SHOWN rows of the task (the inline's `ordering` is newest first)."""

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[:HISTORY_ROWS_SHOWN]
        return self._queryset


class NewestRowsInline(AppendOnlyAdminMixin, admin.TabularInline):
    """A task's history rows, newest first, at most HISTORY_ROWS_SHOWN of them; under them, how
    many there are and a link to all of them in their own list, filtered to the task."""

    formset = NewestRowsFormSet
    template = "admin/tasks/newest_rows_inline.html"
    extra = 0
    can_delete = False
    classes = ("collapse",)

    def get_formset(self, request, obj=None, **kwargs):
        # Django makes the inlines afresh for each request: what is set here is this page's.
        self.rows_total = self.model.objects.filter(task=obj).count() if obj is not None else 0
        self.rows_shown = min(self.rows_total, HISTORY_ROWS_SHOWN)
        self.all_rows_url = rows_of_task_url(self.model, obj) if obj is not None else ""
        return super().get_formset(request, obj, **kwargs)


class TaskEventInline(NewestRowsInline):
    model = TaskEvent
    fields = ("sequence", "created_at", "kind", "status", "phase", "progress", "message")
    readonly_fields = fields
    ordering = ("-sequence",)


class StageCheckpointInline(NewestRowsInline):
    model = StageCheckpoint
    fields = ("stage", "attempt", "completed_at", "data")
    readonly_fields = fields
    ordering = ("-completed_at", "-pk")


@admin.register(TaskEvent)
class TaskEventAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    list_display = ("created_at", "task_cell", "kind", "state_cell", "short_message")
    list_filter = ("kind", "status", ("phase", PhaseFilter))
    search_fields = ("message", "task__topic", "task__title")
    list_select_related = ("task",)
    # Newest first; the primary key follows insertion order and is indexed.
    ordering = ("-pk",)

    @admin.display(description="task", ordering="task__title")
    def task_cell(self, event: TaskEvent):
        return format_html('{}<span class="cell-note">event {}</span>',
                           Truncator(str(event.task)).chars(TASK_PREVIEW_CHARS), event.sequence)

    @admin.display(description="state", ordering="status")
    def state_cell(self, event: TaskEvent) -> str:
        """The task's state the event left it in: "Running · Draft · 40 %"."""
        parts = [event.get_status_display(), event.get_phase_display() if event.phase else "", f"{event.progress} %"]
        return " · ".join(part for part in parts if part)

    @admin.display(description="message")
    def short_message(self, event: TaskEvent) -> str:
        return Truncator(event.message).chars(MESSAGE_PREVIEW_CHARS)


@admin.register(StageCheckpoint)
class StageCheckpointAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    list_display = ("task", "stage", "attempt", "completed_at")
    list_filter = ("stage",)
    search_fields = ("stage", "task__topic", "task__title")
    list_select_related = ("task",)
    ordering = ("-completed_at",)
