"""The task page's action forms: one small form per verb the user may take on the task now.

Each `TaskAction` names a verb, the form that collects its input and the function that calls the
verb's service. The task admin lists the actions possible now (`GenerationTaskAdmin.task_actions`,
extended by `content.admin` with the review verbs and by `publishing.admin` with publishing), the
page renders exactly those, and each posts to one admin view that looks the action up again in
that same list — so a form left open after the state moved on cannot act — and calls it. Success
redirects to the task page with a message. A refusal (the form's own validation, or a
`DomainError` of the service: wrong state, missing permission, bad input) shows the task page
again, as it is now, with that form bound to what the user typed and the error beside it, so a
refused edit or rejection loses nothing. Imports nothing outside `tasks`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import capfirst

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


@dataclass
class RefusedAction:
    """A POSTed action form that was refused, to show again on the task page as it was typed.

    A form may list `page_state_fields`: hidden fields that record what the page showed (say, the
    version the reviewer read). Shown again, they take the values of the page now shown, so a
    second submit speaks of what the user now sees; everything else stays as typed.
    """

    verb: str
    form: forms.Form

    def shown_as(self, action: TaskAction) -> forms.Form:
        page_state = getattr(self.form, "page_state_fields", ())
        if page_state:
            fresh = action.form()
            data = self.form.data.copy()
            for name in page_state:
                data[self.form.add_prefix(name)] = fresh[name].value()
            self.form.data = data
        return self.form


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
                         notes: dict[str, str] | None = None, refused: RefusedAction | None = None) -> str:
    """The page's action forms, grouped by panel in the order of PANELS; a `refused` one as typed.

    `notes` maps a panel to one sentence on why a verb one might look for is not offered.
    """
    notes = notes or {}

    def shown(action: TaskAction) -> dict:
        is_refused = refused is not None and refused.verb == action.verb
        return {"action": action, "form": refused.shown_as(action) if is_refused else action.form(),
                "refused": is_refused, "url": action_url(admin, task, action.verb)}

    panels = []
    for key, title in PANELS.items():
        forms_here = [shown(action) for action in actions if action.panel == key]
        if forms_here or notes.get(key):
            panels.append({"key": key, "title": title, "actions": forms_here, "note": notes.get(key, "")})
    return render_to_string(
        "admin/tasks/generationtask/action_panels.html", {"panels": panels, "task": task}, request=request,
    )


def action_view(admin, request, object_id: str, verb: str):
    """POST one action's form: look the action up among those possible now and run it; success
    redirects to the task page, a refusal shows the page again with the form as typed."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    task = admin.get_object(request, object_id)
    if task is None:
        raise Http404("No such task.")
    change_url = reverse(f"admin:{admin.opts.app_label}_{admin.opts.model_name}_change", args=[task.pk],
                         current_app=admin.admin_site.name)
    action = next((a for a in admin.task_actions(request, task) if a.verb == verb), None)
    if action is None:
        # Its form is no longer on the page, so there is nothing to show again.
        messages.error(request, f"“{verb.replace('_', ' ')}” is not possible on this task now "
                                f"(it is {task.get_status_display().lower()}); the page shows what is.")
        return HttpResponseRedirect(change_url)
    form = action.form(request.POST)
    if form.is_valid():
        try:
            done = action.perform(request, task, form.cleaned_data)
        except DomainError as error:
            _add_domain_error(form, error)
            messages.error(request, f"{action.label}: {error}")
        else:
            messages.success(request, done)
            return HttpResponseRedirect(change_url)
    else:
        messages.error(request, f"{action.label}: {_problems(form)}")
    return _task_page_with(admin, request, object_id, change_url, RefusedAction(verb, form))


def _problems(form: forms.Form) -> str:
    """The form's errors as sentences: "Reasons: This field is required. Title: …"."""
    return " ".join(
        f"{capfirst(form.fields[name].label or name)}: {' '.join(errors)}" if name in form.fields else " ".join(errors)
        for name, errors in form.errors.items()
    )


def _add_domain_error(form: forms.Form, error: DomainError) -> None:
    """The service's refusal on the form: its message above the fields, its field errors beside them."""
    form.add_error(None, str(error))
    for name, errors in error.fields.items():
        if name in form.fields:
            form.add_error(name, errors)


def _task_page_with(admin, request, object_id: str, change_url: str, refused: RefusedAction):
    """The task page as a GET would show it now, with the refused form in place of a blank one.

    The page is rendered for a copy of the request without the POST, so the brief form below
    is shown, never saved; its own form posts to the task page, not here.
    """
    page_request = copy.copy(request)
    page_request.method = "GET"
    page_request.POST = QueryDict()
    return admin.change_view(page_request, object_id, form_url=change_url,
                             extra_context={"refused_action": refused})


# --- The task's own verbs (content.admin and publishing.admin add theirs) ---------------------

def retry_action(request, task: GenerationTask, data: dict) -> str:
    model = data.get("model")
    task = task_retry(task=task, by=request.user, model=model)
    return f"Queued again on {task.model.display_name}; it resumes after its last finished stage."


def cancel_action(request, task: GenerationTask, data: dict) -> str:
    task = task_cancel(task=task, by=request.user)
    return "Cancelled." if task.status == Status.CANCELLED else "Asked the worker to stop."
