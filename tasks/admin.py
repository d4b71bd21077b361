"""The oversight hub's task pages: the brief form, the task page, the lists, events and the catalog.

An editor writes the brief (`tasks.forms.TaskBriefForm`); the pipeline owns everything about the
run, so run, cost and metadata fields are read-only here. Every change goes through a service, as
in the API, and a refusal is shown as a message. Editors see their own tasks; `tasks.view_all_tasks`
shows all. The task page offers exactly the actions possible now (`task_actions`, forms in
`tasks.admin_actions`) and opens with the sections `task_page_sections` lists; the changelist's
status, phase and progress cells update in place and new tasks appear as rows: both are rendered
here first, so the pages are complete without JavaScript, and `tasks/static/tasks/live-progress.js`
then follows the task events over a WebSocket (or the API).
Imports flow one way: `content.admin` builds on this module (article, review verbs, versions,
audit trail), `publishing.admin` on that one (publishing verbs, the blog's categories and tags),
and this module knows nothing of `content` or `publishing`.
"""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_list import results
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import Script
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, capfirst

from tasks.admin_actions import (
    RefusedAction,
    RetryForm,
    TaskAction,
    action_view,
    cancel_action,
    render_action_panels,
    retry_action,
)
from tasks.admin_budgets import CostBudgetAdmin  # noqa: F401 (registered on import)
from tasks.admin_catalog import ModelCatalogEntryAdmin  # noqa: F401 (registered on import)
from tasks.admin_schedules import ScheduleAdmin  # noqa: F401 (registered on import)
from tasks.admin_history import (  # noqa: F401 (the mixins: re-exported for content.admin)
    AppendOnlyAdminMixin,
    PhaseFilter,
    StageCheckpointInline,
    TaskEventInline,
    VisibleTaskRowsMixin,
)
from tasks.exceptions import DomainError
from tasks.forms import BLOG_ONLY_FIELDS, TaskBriefForm, format_usd
from tasks.models import (
    GenerationTask,
    ModelCatalogEntry,
    StageCheckpoint,
    Status,
    TaskEvent,
    TaskType,
)
from tasks.models.task import PRIORITY_MAX, PRIORITY_MIN
from tasks.selectors import format_duration, phase_timeline  # noqa: F401 (format_duration: re-exported)
from tasks.services import task_cancel, task_create, task_delete, task_retry, task_update
from tasks.services.lifecycle import (
    EDITABLE_WHILE_QUEUED,
    KEPT_FOR_THE_RECORD,
    RETRYABLE_STATUSES,
    default_model,
    estimate_cost,
    tasks_kept_for_the_record,
)

TITLE_PREVIEW_CHARS = 60
# The WebSocket routes of `tasks.consumers` live in the ASGI router, where `reverse()` cannot see.
TASKS_SOCKET_PATH = "/ws/tasks"
# Only these show their approval: a task that did not complete has nothing to approve.
APPROVAL_APPLIES = (Status.COMPLETED,)
REVIEW_QUEUE_PARAM = "review"
AGE_UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))
# A list action's refusals: one warning per reason, naming a few of the tasks it applies to.
REFUSAL_REASONS_SHOWN = 5
REFUSED_TASKS_NAMED = 3

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
ADD_FIELDSETS = (
    ("Brief", {"fields": ("task_type", "title", "topic", "model", "cost_estimate", "priority")}),
    ("Article", {"fields": BLOG_ONLY_FIELDS[:9], "classes": ("blog-only",)}),
    ("Research", {"fields": ("research_notes", "source_urls"), "classes": ("blog-only",),
                  "description": "Optional: what the research stage should read besides its own sources."}),
    ("Advanced", {"fields": ("timeout_seconds", "metadata"), "classes": ("collapse",)}),
)


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


class ReviewQueueFilter(admin.SimpleListFilter):
    """The task admin's `review_queue`, oldest first (see `get_ordering`)."""

    title = "queue"
    parameter_name = REVIEW_QUEUE_PARAM

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [("awaiting", "Awaiting review")]

    def queryset(self, request, queryset):
        if self.value() == "awaiting":
            return self.model_admin.review_queue(request, queryset)
        return queryset


class CreatorFilter(admin.RelatedOnlyFieldListFilter):
    """The users who created tasks; a task whose creator's account was deleted (`SET_NULL`) is
    listed under "Deleted user" rather than Django's bare "-"."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.empty_value_display = "Deleted user"


class SetPriorityForm(forms.Form):
    priority = forms.IntegerField(min_value=PRIORITY_MIN, max_value=PRIORITY_MAX,
                                  help_text=f"{PRIORITY_MIN} to {PRIORITY_MAX}; higher runs first.")


@admin.register(GenerationTask)
class GenerationTaskAdmin(admin.ModelAdmin):
    form = TaskBriefForm
    # Seven narrow columns fit 1280 px beside the admin's sidebars: model, creator, priority and
    # type ride on the title cell's second line (each is also a filter).
    list_display = (
        "title_cell",
        "state_cell",
        "approval_cell",
        "cost_cell",
        "age_cell",
    )
    list_display_links = ("title_cell",)
    # The model filter lists the catalog (a few rows, which every editor may see) rather than the
    # models tasks use, which took a scan of the task table: 17 ms at 50,000 tasks (make bench-admin).
    # The creator filter still lists only the creators of tasks the viewer may see.
    list_filter = (
        ReviewQueueFilter, "status", ("phase", PhaseFilter), "approval_status", "task_type",
        "model", "priority", ("created_by", CreatorFilter),
        "created_at",
    )
    search_fields = ("title", "topic", "primary_keyword", "id")
    date_hierarchy = "created_at"
    list_select_related = ("model", "created_by")
    list_per_page = 50
    readonly_fields = RUN_FIELDS + COST_FIELDS + METADATA_FIELDS + ("cost_estimate",)
    fieldsets = (
        ("Brief", {"fields": ("seen_sequence", *BRIEF_FIELDS)}),
        ("Run", {"fields": RUN_FIELDS, "classes": ("collapse",)}),
        ("Cost", {"fields": COST_FIELDS, "classes": ("collapse",)}),
        ("Metadata", {"fields": METADATA_FIELDS, "classes": ("collapse",)}),
    )
    inlines = [TaskEventInline, StageCheckpointInline]
    actions = ["cancel_tasks", "retry_tasks", "set_priority"]
    # History that goes with its task when the task is deleted (the database allows that cascade),
    # so its append-only admin must not block the deletion. `content.admin` adds its own.
    cascading_history = (TaskEvent, StageCheckpoint)

    class Media:
        css = {"all": ("tasks/live-progress.css", "tasks/task-admin.css")}
        js = (Script("tasks/live-progress.js", defer=True), Script("tasks/task-form.js", defer=True))

    # --- The list ---------------------------------------------------------------------------

    @admin.display(description="task", ordering="title")
    def title_cell(self, task: GenerationTask) -> str:
        """The title, cut to two lines (the whole of it on hover), over type, model, creator and priority."""
        text = str(task)
        facts = [task.model.key, str(task.created_by or "—")]
        if task.priority:
            facts.append(f"priority {task.priority:+d}")
        return format_html(
            '<span class="task-title" title="{}">{}</span><span class="task-facts">{}{}</span>',
            text, Truncator(text).chars(TITLE_PREVIEW_CHARS),
            mark_safe('<span class="task-type-badge">Image</span> ')  # a constant
            if task.task_type == TaskType.IMAGE_GENERATION else "",
            " · ".join(facts),
        )

    @admin.display(description="state", ordering="status")
    def state_cell(self, task: GenerationTask) -> str:
        bar = format_html('<progress max="100" value="{}" aria-hidden="true"></progress> ', task.progress)
        return format_html(
            '<span class="task-state">{} <span class="task-state__phase">{}</span> {}</span>',
            self._live_cell(task, "status", task.get_status_display()),
            self._live_cell(task, "phase", task.get_phase_display() if task.phase else ""),
            self._live_cell(task, "progress", f"{task.progress}%", before=bar),
        )

    @admin.display(description="approval", ordering="approval_status")
    def approval_cell(self, task: GenerationTask) -> str:
        if task.status not in APPROVAL_APPLIES:
            return "—"
        return format_html('<span class="task-approval task-approval--{}">{}</span>',
                           task.approval_status, task.get_approval_status_display())

    @admin.display(description="cost", ordering="actual_cost")
    def cost_cell(self, task: GenerationTask) -> str:
        if task.actual_cost:
            return format_usd(task.actual_cost)
        if task.estimated_cost is None:
            return "—"
        return format_html('<span class="task-estimate-cell" title="estimate">~{}</span>',
                           format_usd(task.estimated_cost))

    @admin.display(description="age", ordering="-created_at")
    def age_cell(self, task: GenerationTask) -> str:
        seconds = (timezone.now() - task.created_at).total_seconds()
        age = next((f"{int(seconds // size)} {unit}" for size, unit in AGE_UNITS if seconds >= size), "now")
        return format_html('<time datetime="{}" title="{}">{}</time>', task.created_at.isoformat(),
                           timezone.localtime(task.created_at).strftime("%Y-%m-%d %H:%M"), age)

    # Kept for callers that show one live value on its own.
    def live_status(self, task: GenerationTask) -> str:
        return self._live_cell(task, "status", task.get_status_display())

    @staticmethod
    def _live_cell(task: GenerationTask, field: str, text: str, *, before: str = "") -> str:
        """A changelist cell that live-progress.js finds by task id and updates in place."""
        return format_html(
            '<span class="task-live task-{}" data-task-id="{}" data-field="{}" data-value="{}" data-sequence="{}">'
            '{}<span class="task-live__text">{}</span></span>',
            field, task.pk, field, getattr(task, field), task.event_sequence, before, text,
        )

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def history_view(self, request, object_id, extra_context=None):
        """The page's History button: the task's own history, its events (status changes, stages,
        decisions, publications), not Django's log of admin form saves, which the verbs never write."""
        task = self.get_object(request, admin.utils.unquote(object_id))
        if task is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, task):
            raise PermissionDenied
        return HttpResponseRedirect(f"{reverse('admin:tasks_taskevent_changelist')}?task__id__exact={task.pk}")

    def review_queue(self, request, queryset):
        """The tasks of `queryset` whose current version waits for a decision (the "Review queue").

        `content.admin` narrows it to the ones the viewer may decide, as the dashboard does.
        """
        return queryset.awaiting_decision()

    def get_ordering(self, request):
        if request.GET.get(REVIEW_QUEUE_PARAM) == "awaiting":
            return ("finished_at", "created_at")  # the longest-waiting decision first
        return super().get_ordering(request)

    def changelist_view(self, request, extra_context=None):
        live = {
            "tasks_url": reverse("api:task_list"),
            "socket_path": TASKS_SOCKET_PATH,
            "row_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_row", args=["TASK_ID"],
                               current_app=self.admin_site.name),
            "server_now": timezone.now().isoformat(),
        }
        awaiting = self.review_queue(request, self.get_queryset(request)).count()
        context = {"live_task_list": live, "review_queue_count": awaiting,
                   "review_queue_param": REVIEW_QUEUE_PARAM, **(extra_context or {})}
        return super().changelist_view(request, context)

    def row_view(self, request, object_id):
        """One changelist row (`<tr>`) for a task live-progress.js has not seen yet.

        The list's own query string comes along, so a task that its filters or search exclude is
        answered with 204 and stays out of the list; filters the list cannot apply (which it answers
        with its "?e=1" page) with 400. Like the list itself, it needs the view permission.
        """
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("The list's filters cannot be applied.")
        task = changelist.get_queryset(request).filter(pk=object_id).first() if _is_uuid(object_id) else None
        if task is None:
            return HttpResponse(status=204)
        changelist.result_list = [task]
        changelist.formset = None
        row = next(iter(results(changelist)))
        return HttpResponse(render_to_string("admin/tasks/generationtask/changelist_row.html",
                                             {"row": row, "task": task}, request=request))

    # --- Bulk actions -----------------------------------------------------------------------

    @admin.action(description="Cancel selected tasks (running ones are asked to stop)", permissions=["change"])
    def cancel_tasks(self, request, queryset):
        self._apply_to_each(request, queryset, task_cancel, done="cancelled or asked to stop")

    @admin.action(description="Retry selected failed, timed-out or cancelled tasks", permissions=["change"])
    def retry_tasks(self, request, queryset):
        self._apply_to_each(request, queryset, task_retry, done="queued again")

    @admin.action(description="Set the priority of selected queued tasks…", permissions=["change"])
    def set_priority(self, request, queryset):
        """An intermediate page asks for the priority, then each queued task gets it."""
        form = SetPriorityForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            priority = form.cleaned_data["priority"]

            def change(*, task, by):
                task_update(task=task, by=by, changes={"priority": priority})

            self._apply_to_each(request, queryset, change, done=f"now at priority {priority}")
            return None
        return TemplateResponse(request, "admin/tasks/generationtask/set_priority.html", {
            **self.admin_site.each_context(request),
            "title": "Set the priority of the selected tasks",
            "opts": self.opts,
            "tasks": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

    def _apply_to_each(self, request, queryset, verb, *, done: str = "") -> None:
        """Run a lifecycle verb on each task; the tasks the verb refuses are skipped and reported
        once per reason (an action over a whole list of finished tasks was one warning per task)."""
        succeeded, refused = 0, {}
        for task in queryset:
            try:
                verb(task=task, by=request.user)
            except DomainError as error:
                refused.setdefault(str(error), []).append(task)
            else:
                succeeded += 1
        for reason, tasks in list(refused.items())[:REFUSAL_REASONS_SHOWN]:
            self.message_user(request, f"{_named(tasks)}: {reason}", messages.WARNING)
        if len(refused) > REFUSAL_REASONS_SHOWN:
            others = sum(len(tasks) for tasks in list(refused.values())[REFUSAL_REASONS_SHOWN:])
            self.message_user(request, f"{others} more task(s) were refused for other reasons.", messages.WARNING)
        if succeeded and done:
            self.message_user(request, f"{succeeded} task(s) {done}.", messages.SUCCESS)

    # --- The brief form ---------------------------------------------------------------------

    def blog_vocabulary(self, request) -> dict:
        """The blog's categories and tags to suggest on the brief form; `publishing.admin` fills it in."""
        return {"categories": [], "tags": []}

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"vocabulary": self.blog_vocabulary(request), "creator": request.user})

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ADD_FIELDSETS
        fieldsets = super().get_fieldsets(request, obj)
        if obj.task_type == TaskType.IMAGE_GENERATION:  # a target word count or a tone says nothing of an image
            fieldsets = [(name, {**options, "fields": tuple(field for field in options["fields"]
                                                           if field not in BLOG_ONLY_FIELDS)})
                         for name, options in fieldsets]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            # A new brief may set its deadline and metadata, as the API allows.
            return tuple(name for name in readonly if name not in ("timeout_seconds", "metadata"))
        if obj.status != Status.QUEUED:
            # Once a worker has picked the brief up, it is the record of what was asked for.
            return readonly + BRIEF_FIELDS
        return readonly + tuple(name for name in BRIEF_FIELDS if name not in EDITABLE_WHILE_QUEUED)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        default = ModelCatalogEntry.objects.enabled().filter(is_default=True).first()
        if default is not None:
            initial.setdefault("model", default.pk)
        initial.setdefault("timeout_seconds", settings.PRESSROOM_TASK_TIMEOUT)
        return initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "model":
            kwargs["queryset"] = ModelCatalogEntry.objects.enabled()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="estimated cost")
    def cost_estimate(self, task: GenerationTask) -> str:
        """The expected cost, kept current by task-form.js through the estimate API as the brief changes."""
        try:
            model = task.model
        except ModelCatalogEntry.DoesNotExist:
            model = default_model()
        cost = task.estimated_cost if not task._state.adding else estimate_cost(
            {"task_type": task.task_type, "word_count": task.word_count, "model": model})
        # One live region for the figure and its note, read together: the note carries the warning
        # that the brief would pass a monthly budget, and the reason when no estimate came back.
        return format_html(
            '<span class="task-estimate__live" aria-live="polite" aria-atomic="true">'
            '<output class="task-estimate" data-estimate-url="{}">{} (estimate)</output>'
            '<span class="task-estimate__note" data-role="estimate-note"></span></span>',
            reverse("api:task_estimate"), format_usd(cost),
        )

    def save_model(self, request, obj, form, change):
        # The services, not `obj.save()`: they record the event, wake a worker, and write only the
        # brief fields that changed, never a stale copy of a row a worker may be updating.
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_WHILE_QUEUED}
            task_update(task=obj, by=request.user, changes=changes,
                        seen_sequence=form.cleaned_data.get("seen_sequence"))
            return
        brief_names = set(form.fields) - {"research_notes", "source_urls", "seen_sequence"}
        brief = {name: form.cleaned_data[name] for name in brief_names if name in form.cleaned_data}
        if brief.get("timeout_seconds") is None:
            brief.pop("timeout_seconds", None)
        brief["metadata"] = brief.get("metadata") or {}
        task, _ = task_create(created_by=request.user, brief=brief, **form.research())
        # The admin goes on with `obj` (history entry, redirect): make it the row just created.
        obj.pk, obj.created_by = task.pk, task.created_by
        obj._state.adding = False

    def delete_model(self, request, obj):
        task_delete(task=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        # Django reports the deletions itself; only refusals (running tasks) are added.
        self._apply_to_each(request, queryset, task_delete)

    # --- The task page ----------------------------------------------------------------------

    def task_actions(self, request, task: GenerationTask) -> list[TaskAction]:
        """The verbs `request.user` may take on `task` now, as forms; subclasses add theirs."""
        if not self.has_change_permission(request, task):
            return []
        actions = []
        if task.status in RETRYABLE_STATUSES:
            actions.append(TaskAction(
                "retry", "Retry", perform=retry_action, form_class=RetryForm, form_kwargs={"task": task},
                style="primary", description="Runs again from the last finished stage.",
            ))
        if task.status in (Status.QUEUED, Status.RUNNING) and task.cancel_requested_at is None:
            actions.append(TaskAction(
                "cancel", "Cancel", perform=cancel_action, style="danger",
                description="A running task stops after its current step.",
            ))
        return actions

    def task_panel_notes(self, request, task: GenerationTask) -> dict[str, str]:
        """A sentence per action panel on why a verb is not offered now; subclasses add theirs."""
        return {}

    def live_panel_context(self, task: GenerationTask) -> dict:
        """What the change page's live-progress panel shows and where its script listens."""
        now = timezone.now()
        return {
            "task": task,
            "timeline": phase_timeline(task, now=now),
            "server_now": now.isoformat(),
            "events_url": reverse("api:task_events", kwargs={"task_id": task.pk}),
            "timeline_url": reverse("api:task_timeline", kwargs={"task_id": task.pk}),
            "task_url": reverse("api:task_detail", kwargs={"task_id": task.pk}),
            "socket_path": f"{TASKS_SOCKET_PATH}/{task.pk}",
        }

    def task_page_sections(self, request, task: GenerationTask, refused: RefusedAction | None = None, *,
                           live: dict | None = None) -> list[tuple[str, str]]:
        """The sections above the brief and the bookkeeping, in page order, as (name, HTML).

        Here: the action forms (a `refused` one shown again as typed) and the live progress;
        `content.admin` puts the article first and adds the quality report, the versions and the
        audit trail. `live` is `live_panel_context(task)` when the caller has read it already.
        """
        live = render_to_string("admin/tasks/generationtask/live_progress_panel.html",
                                {"live": live or self.live_panel_context(task), "task": task}, request=request)
        return [
            ("actions", render_action_panels(self, request, task, self.task_actions(request, task),
                                             self.task_panel_notes(request, task), refused)),
            ("live", live),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # Read once for the page: its timeline reads the task's events.
            context["live_panel"] = self.live_panel_context(obj)
            refused = context.get("refused_action")  # set by `action_view` when it shows a refusal
            context["task_sections"] = self.task_page_sections(request, obj, refused, live=context["live_panel"])
            if obj.status != Status.QUEUED:
                # Nothing on the form can change once a worker took the brief: no Save buttons, and
                # the page is the task's, not a "Change" form (its actions change it, each its own way).
                context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False,
                               title=capfirst(self.opts.verbose_name))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/actions/<slug:verb>/",
                 wrap(lambda request, object_id, verb: action_view(self, request, object_id, verb)),
                 name="%s_%s_action" % info),
            path("<path:object_id>/row/", wrap(self.row_view), name="%s_%s_row" % info),
            *super().get_urls(),
        ]

    # A refusal while saving or deleting (the task moved on since the page was loaded) is a message
    # on the page, as on every admin of the site (config/admin_site.py, SiteRulesMixin).

    def get_deleted_objects(self, objs, request):
        """Django's list of what a delete takes along, with the site's rules: a task's own history
        goes with it, and a task whose audit trail or post must be kept is named with that reason
        (Django would say the user lacks permission to delete approval events, even a superuser)."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed -= {model._meta.verbose_name for model in self.cascading_history}
        chosen = objs if isinstance(objs, QuerySet) else GenerationTask.objects.filter(pk__in=[obj.pk for obj in objs])
        kept = list(tasks_kept_for_the_record(chosen))
        if kept:
            return deleted, model_count, set(), [f"“{task}” {KEPT_FOR_THE_RECORD}" for task in kept]
        return deleted, model_count, perms_needed, protected


def _named(tasks: list[GenerationTask]) -> str:
    """"Title" for one task; "12 tasks (Title, Title, Title, …)" for several."""
    if len(tasks) == 1:
        return str(tasks[0])
    names = ", ".join(Truncator(str(task)).chars(TITLE_PREVIEW_CHARS) for task in tasks[:REFUSED_TASKS_NAMED])
    return f"{len(tasks)} tasks ({names}{', …' if len(tasks) > REFUSED_TASKS_NAMED else ''})"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
