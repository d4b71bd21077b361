"""django-q2's admin of schedules (the reconciler, the webhook sweep, housekeeping, scheduled
publications), fitted to 1280 px: the function a schedule runs goes under its name, breakable at
its dots, instead of a column of its own that pushed the last ones out of sight, and the cluster
is a filter. The function and the hook must be importable (django-q2 saved any text and failed at
every run). Registered in place of django-q2's own (its admin module is discovered first:
`django_q` comes before `tasks` in INSTALLED_APPS)."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django_q.admin import ScheduleAdmin as DjangoQScheduleAdmin
from django_q.models import Schedule

DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\Z")


def importable_function(path: str, *, field: str) -> str:
    """`path` if it names a function that can be imported (`package.module.function`), else a
    form error: django-q2 took any text and the cluster failed on it at every run."""
    path = (path or "").strip()
    if not DOTTED_PATH.match(path):
        raise forms.ValidationError(f"Give the {field} as a dotted path, like tasks.jobs.reconcile.")
    try:
        function = import_string(path)
    except ImportError:
        raise forms.ValidationError(f"No function {path} can be imported.") from None
    if not callable(function):
        raise forms.ValidationError(f"{path} is not a function.")
    return path


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = "__all__"

    def clean_func(self):
        return importable_function(self.cleaned_data.get("func"), field="function")

    def clean_hook(self):
        hook = self.cleaned_data.get("hook")
        return importable_function(hook, field="hook") if hook else hook


class ScheduleAdmin(DjangoQScheduleAdmin):
    form = ScheduleForm
    list_display = ("name_cell", "schedule_type", "next_run", "get_last_run", "get_success")  # repeats: on its page
    list_display_links = ("name_cell",)

    @admin.display(description="schedule", ordering="name")
    def name_cell(self, schedule: Schedule):
        dotted = format_html_join(mark_safe(".<wbr>"), "{}", ((part,) for part in schedule.func.split(".")))
        return format_html('{}<span class="cell-note">{}</span>', schedule.name or f"Schedule {schedule.pk}", dotted)


if admin.site.is_registered(Schedule):
    admin.site.unregister(Schedule)
admin.site.register(Schedule, ScheduleAdmin)
