"""The oversight hub's task pages: briefs, their runs, progress events and the model catalog.

An editor writes the brief; the pipeline owns everything about the run, so run, cost and metadata
fields are read-only here. Creating, editing, cancelling, retrying and deleting go through the
lifecycle services in `tasks.services`, as the API does, and a refusal is shown as a message.
Editors see their own tasks; `tasks.view_all_tasks` shows all. The change page opens with a
live-progress panel and the changelist's status, phase and progress cells update in place: both
are rendered here first, so the pages are complete without JavaScript, and
`tasks/static/tasks/live-progress.js` then follows the task's events over a WebSocket (or the API).
Imports flow one way: `content.admin` builds on this module (it adds the versions and audit
inlines to the task page), and this module knows nothing of `content` or `publishing`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import Script
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from tasks.exceptions import DomainError
from tasks.models import (
    FINISHED_STATUSES,
    GenerationTask,
    ModelCatalogEntry,
    Phase,
    StageCheckpoint,
    Status,
    TaskEvent,
)
from tasks.services import task_cancel, task_create, task_delete, task_retry, task_update
from tasks.services.lifecycle import EDITABLE_WHILE_QUEUED

MESSAGE_PREVIEW_CHARS = 80
# The WebSocket routes of `tasks.consumers` live in the ASGI router, where `reverse()` cannot see.
TASKS_SOCKET_PATH = "/ws/tasks"
PHASE_STATE_LABELS = {"pending": "not started", "running": "running", "done": "done", "stopped": "stopped"}

BRIEF_FIELDS = (
    "task_type",
    "title",
    "topic",
    "word_count",
    "word_count_tolerance",
    "strict_mode",
    "style",
    "tone",
    "target_audience",
    "primary_keyword",
    "category",
    "tags",
    "model",
    "priority",
)
COST_FIELDS = ("estimated_cost", "actual_cost", "input_tokens", "output_tokens")


BASE_METADATA_FIELDS = ("id", "created_by", "created_at", "updated_at", "metadata")


def _pipeline_fields(*, editable: bool) -> tuple[str, ...]:
    """Every field outside the brief, the cost and the base metadata, in model order.

    Derived rather than listed, so that a field the pipeline adds later is shown read-only
    without touching this module: editable ones describe the run, non-editable ones are
    bookkeeping (sequence counters, idempotency keys) and go with the metadata.
    """
    named = {*BRIEF_FIELDS, *COST_FIELDS, *BASE_METADATA_FIELDS}
    return tuple(
        field.name
        for field in GenerationTask._meta.concrete_fields
        if field.name not in named and field.editable == editable
    )


RUN_FIELDS = _pipeline_fields(editable=True)
METADATA_FIELDS = BASE_METADATA_FIELDS + _pipeline_fields(editable=False)


def format_duration(seconds: float) -> str:
    """"42 s", "3 min 05 s", "1 h 02 min": the same text live-progress.js writes."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def phase_timeline(task: GenerationTask, *, now) -> list[dict]:
    """The pipeline's phases in order, each with its state and how long it took (or has taken).

    A phase starts at its first event with that phase and ends when the next phase starts or the
    task finishes; a phase that a retry enters again runs again. live-progress.js computes the same
    from the events it receives, so the panel reads alike before and after the script takes over.
    """
    spans: dict[str, dict] = {}
    current = ""
    for phase, status, at in task.events.order_by("sequence").values_list("phase", "status", "created_at"):
        if phase and phase != current:
            if current:
                spans[current].update(end=at, outcome="")
            spans.setdefault(phase, {"start": at}).update(end=None, outcome="")
            current = phase
        if status in FINISHED_STATUSES and current:
            spans[current].update(end=at, outcome=status)
            current = ""
    timeline = []
    for phase in (phase for phase in Phase if phase != Phase.NONE):
        span = spans.get(phase.value)
        if span is None:
            state, duration = "pending", ""
        else:
            ended_well = span["outcome"] in ("", Status.COMPLETED)
            state = "running" if span["end"] is None else "done" if ended_well else "stopped"
            duration = format_duration(((span["end"] or now) - span["start"]).total_seconds())
        timeline.append({"phase": phase.value, "label": phase.label, "state": state,
                         "state_label": PHASE_STATE_LABELS[state], "duration": duration})
    return timeline


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
        visible_tasks = GenerationTask.objects.visible_to(request.user)
        return super().get_queryset(request).filter(**{f"{self.task_path}__in": visible_tasks})


class TaskEventInline(AppendOnlyAdminMixin, admin.TabularInline):
    model = TaskEvent
    fields = ("sequence", "created_at", "kind", "status", "phase", "progress", "message")
    readonly_fields = fields
    ordering = ("sequence",)
    extra = 0
    can_delete = False


class StageCheckpointInline(AppendOnlyAdminMixin, admin.TabularInline):
    model = StageCheckpoint
    fields = ("stage", "attempt", "completed_at", "data")
    readonly_fields = fields
    ordering = ("completed_at",)
    extra = 0
    can_delete = False


@admin.register(GenerationTask)
class GenerationTaskAdmin(admin.ModelAdmin):
    list_display = (
        "title_or_topic",
        "task_type",
        "live_status",
        "live_phase",
        "live_progress",
        "approval_status",
        "priority",
        "model",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "phase", "approval_status", "task_type", "model", "style", "tone", "created_at")
    search_fields = ("title", "topic", "primary_keyword", "id")
    date_hierarchy = "created_at"
    list_select_related = ("model", "created_by")
    readonly_fields = RUN_FIELDS + COST_FIELDS + METADATA_FIELDS
    fieldsets = (
        ("Brief", {"fields": BRIEF_FIELDS}),
        ("Run", {"fields": RUN_FIELDS}),
        ("Cost", {"fields": COST_FIELDS}),
        ("Metadata", {"fields": METADATA_FIELDS, "classes": ("collapse",)}),
    )
    inlines = [TaskEventInline, StageCheckpointInline]
    actions = ["cancel_tasks", "retry_tasks"]
    # History that goes with its task when the task is deleted (the database allows that cascade),
    # so its append-only admin must not block the deletion. `content.admin` adds its own.
    cascading_history = (TaskEvent, StageCheckpoint)

    class Media:
        css = {"all": ("tasks/live-progress.css",)}
        js = (Script("tasks/live-progress.js", defer=True),)

    @admin.display(description="task", ordering="title")
    def title_or_topic(self, task: GenerationTask) -> str:
        return str(task)

    @admin.display(description="status", ordering="status")
    def live_status(self, task: GenerationTask) -> str:
        return self._live_cell(task, "status", task.get_status_display())

    @admin.display(description="phase", ordering="phase")
    def live_phase(self, task: GenerationTask) -> str:
        return self._live_cell(task, "phase", task.get_phase_display())

    @admin.display(description="progress", ordering="progress")
    def live_progress(self, task: GenerationTask) -> str:
        bar = format_html('<progress max="100" value="{}" aria-hidden="true"></progress> ', task.progress)
        return self._live_cell(task, "progress", f"{task.progress}%", before=bar)

    @staticmethod
    def _live_cell(task: GenerationTask, field: str, text: str, *, before: str = "") -> str:
        """A changelist cell that live-progress.js finds by task id and updates in place."""
        return format_html(
            '<span class="task-live task-{}" data-task-id="{}" data-field="{}" data-value="{}" data-sequence="{}">'
            '{}<span class="task-live__text">{}</span></span>',
            field, task.pk, field, getattr(task, field), task.event_sequence, before, text,
        )

    def live_panel_context(self, task: GenerationTask) -> dict:
        """What the change page's live-progress panel shows and where its script listens."""
        now = timezone.now()
        return {
            "task": task,
            "timeline": phase_timeline(task, now=now),
            "server_now": now.isoformat(),
            "events_url": reverse("api:task_events", kwargs={"task_id": task.pk}),
            "task_url": reverse("api:task_detail", kwargs={"task_id": task.pk}),
            "socket_path": f"{TASKS_SOCKET_PATH}/{task.pk}",
        }

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            # A new task has no run yet: the add form is the brief alone.
            return (("Brief", {"fields": BRIEF_FIELDS}),)
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        if obj.status != Status.QUEUED:
            # Once a worker has picked the brief up, it is the record of what was asked for.
            return readonly + BRIEF_FIELDS
        return readonly + tuple(name for name in BRIEF_FIELDS if name not in EDITABLE_WHILE_QUEUED)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        default_model = ModelCatalogEntry.objects.enabled().filter(is_default=True).first()
        if default_model is not None:
            initial.setdefault("model", default_model.pk)
        return initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "model":
            kwargs["queryset"] = ModelCatalogEntry.objects.enabled()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The services, not `obj.save()`: they record the event, wake a worker, and write only the
        # brief fields that changed, never a stale copy of a row a worker may be updating.
        if change:
            if form.changed_data:
                task_update(
                    task=obj, by=request.user, changes={name: form.cleaned_data[name] for name in form.changed_data}
                )
            return
        task, _ = task_create(created_by=request.user, brief={name: form.cleaned_data[name] for name in form.fields})
        # The admin goes on with `obj` (history entry, redirect): make it the row just created.
        obj.pk, obj.created_by = task.pk, task.created_by
        obj._state.adding = False

    def delete_model(self, request, obj):
        task_delete(task=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        # Django reports the deletions itself; only refusals (running tasks) are added.
        self._apply_to_each(request, queryset, task_delete)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["live_panel"] = self.live_panel_context(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def changelist_view(self, request, extra_context=None):
        live = {"tasks_url": reverse("api:task_list"), "socket_path": TASKS_SOCKET_PATH}
        return super().changelist_view(request, {"live_task_list": live, **(extra_context or {})})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            # A worker claimed the task between page load and save, say: nothing was written.
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
            change_url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[object_id],
                current_app=self.admin_site.name,
            )
            return HttpResponseRedirect(change_url)

    @admin.action(description="Cancel selected tasks (running ones are asked to stop)", permissions=["change"])
    def cancel_tasks(self, request, queryset):
        self._apply_to_each(request, queryset, task_cancel, done="cancelled or asked to stop")

    @admin.action(description="Retry selected failed, timed-out or cancelled tasks", permissions=["change"])
    def retry_tasks(self, request, queryset):
        self._apply_to_each(request, queryset, task_retry, done="queued again")

    def _apply_to_each(self, request, queryset, verb, *, done: str = "") -> None:
        """Run a lifecycle verb on each task; a task the verb refuses is reported and skipped."""
        succeeded = 0
        for task in queryset:
            try:
                verb(task=task, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{task}: {error}", messages.WARNING)
            else:
                succeeded += 1
        if succeeded and done:
            self.message_user(request, f"{succeeded} task(s) {done}.", messages.SUCCESS)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed -= {model._meta.verbose_name for model in self.cascading_history}
        return deleted, model_count, perms_needed, protected


@admin.register(TaskEvent)
class TaskEventAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    list_display = ("task", "sequence", "kind", "status", "phase", "progress", "short_message", "created_at")
    list_filter = ("kind", "status", "phase")
    search_fields = ("message", "task__topic", "task__title")
    list_select_related = ("task",)
    # Newest first; the primary key follows insertion order and is indexed.
    ordering = ("-pk",)

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


class CatalogChangelistForm(forms.ModelForm):
    """The changelist edits only `enabled`, so the database's "default is enabled" rule is checked here."""

    def clean_enabled(self):
        enabled = self.cleaned_data["enabled"]
        if not enabled and self.instance.is_default:
            raise ValidationError("The default model cannot be disabled; make another model the default first.")
        return enabled


@admin.register(ModelCatalogEntry)
class ModelCatalogEntryAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "display_name",
        "provider",
        "enabled",
        "is_default",
        "input_price_per_million",
        "output_price_per_million",
        "context_window",
    )
    list_editable = ("enabled",)
    list_filter = ("provider", "enabled")
    search_fields = ("key", "display_name", "provider_model_id")
    readonly_fields = ("created_at", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("key", "display_name", "enabled", "is_default")}),
        ("Provider", {"fields": ("provider", "provider_model_id", "base_url", "api_key_env")}),
        ("Prices and limits", {"fields": ("input_price_per_million", "output_price_per_million", "context_window")}),
        ("Metadata", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", CatalogChangelistForm)
        return super().get_changelist_form(request, **kwargs)
