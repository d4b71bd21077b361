"""The task page's action forms: one small form per verb the user may take on the task now.

Each `TaskAction` names a verb, the form that collects its input and the function that calls the
verb's service. The task admin lists the actions possible now (`GenerationTaskAdmin.task_actions`,
extended by `content.admin` with the review verbs and by `publishing.admin` with publishing), the
page renders exactly those, and each posts to one admin view that looks the action up again in
that same list — so a form left open after the state moved on cannot act — calls it, and reports
the outcome as a message: a `DomainError` (wrong state, missing permission, bad input) as an error,
success as a success. Imports nothing outside `tasks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse

from tasks.exceptions import DomainError
from tasks.forms import CatalogModelChoiceField, CatalogSelect
from tasks.models import GenerationTask, ModelCatalogEntry, Status
from tasks.services import task_cancel, task_retry

PANELS = {"review": "Review", "publish": "Publishing", "task": "Run"}


@dataclass
class TaskAction:
    """One verb on the task page.

    `perform(request, task, cleaned_data)` calls the service and returns the success message; it
    may raise `DomainError`. `panel` groups the forms ("review", "publish", "task"); `style` is
    "primary", "danger" or ""; `collapsed` puts a long form behind its button (a `<details>`).
    """

    verb: str
    label: str
    perform: Callable[..., str]
    form_class: type[forms.Form] = forms.Form
    form_kwargs: dict = field(default_factory=dict)
    panel: str = "task"
    style: str = ""
    description: str = ""
    collapsed: bool = False

    def form(self, data=None) -> forms.Form:
        return self.form_class(data, prefix=self.verb, **self.form_kwargs)


class RetryForm(forms.Form):
    """Retry, on the same model or another that can run here."""

    model = CatalogModelChoiceField(
        queryset=ModelCatalogEntry.objects.enabled(), widget=CatalogSelect, required=False,
        help_text="The retry may run on another model.",
    )

    def __init__(self, *args, task: GenerationTask, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].initial = task.model_id


def action_url(admin, task: GenerationTask, verb: str) -> str:
    opts = admin.opts
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_action", args=[task.pk, verb],
                   current_app=admin.admin_site.name)


def render_action_panels(admin, request, task: GenerationTask, actions: list[TaskAction],
                         notes: dict[str, str] | None = None) -> str:
    """The page's action forms, grouped by panel in the order of PANELS.

    `notes` maps a panel to one sentence on why a verb one might look for is not offered.
    """
    notes = notes or {}
    panels = []
    for key, title in PANELS.items():
        forms_here = [
            {"action": action, "form": action.form(), "url": action_url(admin, task, action.verb)}
            for action in actions if action.panel == key
        ]
        if forms_here or notes.get(key):
            panels.append({"key": key, "title": title, "actions": forms_here, "note": notes.get(key, "")})
    return render_to_string(
        "admin/tasks/generationtask/action_panels.html", {"panels": panels, "task": task}, request=request,
    )


def action_view(admin, request, object_id: str, verb: str):
    """POST one action's form: look the action up among those possible now, run it, report it."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    task = admin.get_object(request, object_id)
    if task is None:
        raise Http404("No such task.")
    change_url = reverse(f"admin:{admin.opts.app_label}_{admin.opts.model_name}_change", args=[task.pk],
                         current_app=admin.admin_site.name)
    action = next((a for a in admin.task_actions(request, task) if a.verb == verb), None)
    if action is None:
        messages.error(request, f"“{verb.replace('_', ' ')}” is not possible on this task now "
                                f"(it is {task.get_status_display().lower()}); the page shows what is.")
        return HttpResponseRedirect(change_url)
    form = action.form(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label or name}: {' '.join(errors)}" if name in form.fields else " ".join(errors)
            for name, errors in form.errors.items()
        )
        messages.error(request, f"{action.label}: {problems}")
        return HttpResponseRedirect(change_url)
    try:
        done = action.perform(request, task, form.cleaned_data)
    except DomainError as error:
        messages.error(request, f"{action.label}: {error}")
    else:
        messages.success(request, done)
    return HttpResponseRedirect(change_url)


# --- The task's own verbs (content.admin and publishing.admin add theirs) ---------------------

def retry_action(request, task: GenerationTask, data: dict) -> str:
    model = data.get("model")
    task = task_retry(task=task, by=request.user, model=model)
    return f"Queued again on {task.model.display_name}; it resumes after its last finished stage."


def cancel_action(request, task: GenerationTask, data: dict) -> str:
    task = task_cancel(task=task, by=request.user)
    return "Cancelled." if task.status == Status.CANCELLED else "Asked the worker to stop."
