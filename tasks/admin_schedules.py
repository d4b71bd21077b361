"""django-q2's admin of schedules (the reconciler, the webhook sweep, housekeeping, scheduled
publications), fitted to 1280 px: the function a schedule runs goes under its name, breakable at
its dots, instead of a column of its own that pushed the last ones out of sight, and the cluster
is a filter. The function and the hook must be importable (django-q2 saved any text and failed at
every run), and the form saves only what django-q2's scheduler can run: it takes every due
schedule in one transaction, and one it could not read (arguments that are no Python literal, a
cron schedule without croniter, a next run a billion steps back) stopped every other schedule —
the reconciler, scheduled publications, digests — or held the cluster's sentinel for most of an
hour. Registered in place of django-q2's own (its admin module is discovered first: `django_q`
comes before `tasks` in INSTALLED_APPS)."""

from __future__ import annotations

import ast
import re

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django_q.admin import ScheduleAdmin as DjangoQScheduleAdmin
from django_q.conf import croniter
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


# What Python's parser raises on text that is no literal: MemoryError and RecursionError for
# nesting too deep (`-` * 100,000 before a digit), ValueError for names and operators.
UNREADABLE = (SyntaxError, ValueError, TypeError, MemoryError, RecursionError)

# Runs a due repeating schedule may lie behind: the scheduler steps its next run forward one
# interval at a time until it passes now (catch_up is off), inside the sentinel's loop.
MISSED_RUNS_MAX = 10_000


def scheduled_args(text: str) -> str:
    """`text` if django-q2's scheduler can read it as the positional arguments (a Python literal:
    `(1, 'a')`, or one value), else a form error."""
    if text:
        try:
            ast.literal_eval(text)
        except UNREADABLE:
            raise forms.ValidationError("Give the arguments as a Python literal the scheduler can read, "
                                        "like (1, 'a') or 7.") from None
    return text


def scheduled_kwargs(text: str) -> str:
    """`text` if django-q2's scheduler reads it as keyword arguments, as it does: a dict literal,
    else `name=value, …` with literal values; `q_options`, if given, a dict. Else a form error (the
    scheduler dropped what it could not parse silently, and raised on the rest)."""
    if not text:
        return text
    refusal = forms.ValidationError("Give the keyword arguments as the scheduler reads them: a dict such as "
                                    "{'x': 1}, or x=1, y='a', with literal values.")
    try:
        kwargs = ast.literal_eval(text)
    except UNREADABLE:
        try:
            call = ast.parse(f"f({text})").body[0].value
            if not isinstance(call, ast.Call) or call.args or any(keyword.arg is None for keyword in call.keywords):
                raise refusal
            kwargs = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        except UNREADABLE:
            raise refusal from None
    if not isinstance(kwargs, dict) or not all(isinstance(name, str) for name in kwargs):
        raise refusal
    if not isinstance(kwargs.get("q_options", {}), dict):
        raise forms.ValidationError("q_options must be a dict for the scheduler, like {'q_options': {'timeout': 60}}.")
    return text


def catches_up(schedule: Schedule) -> bool:
    """Whether the scheduler brings `schedule`'s next run past now within MISSED_RUNS_MAX steps of
    its interval, as it does (`calculate_next_run`, once per missed run)."""
    now, next_run = timezone.now(), schedule.next_run
    for _ in range(MISSED_RUNS_MAX):
        if next_run > now:
            return True
        next_run = schedule.calculate_next_run(next_run)
    return next_run > now


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = "__all__"

    def clean_func(self):
        return importable_function(self.cleaned_data.get("func"), field="function")

    def clean_hook(self):
        hook = self.cleaned_data.get("hook")
        return importable_function(hook, field="hook") if hook else hook

    def clean_args(self):
        return scheduled_args(self.cleaned_data.get("args"))

    def clean_kwargs(self):
        return scheduled_kwargs(self.cleaned_data.get("kwargs"))

    def clean(self):
        cleaned = super().clean()
        schedule_type, next_run = cleaned.get("schedule_type"), cleaned.get("next_run")
        if schedule_type == Schedule.CRON and croniter is None:  # saving raised ImportError: a 500
            self.add_error("schedule_type", CRON_UNAVAILABLE)
        elif schedule_type and schedule_type != Schedule.ONCE and next_run and cleaned.get("repeats") != 0:
            schedule = Schedule(schedule_type=schedule_type, minutes=cleaned.get("minutes"), next_run=next_run)
            if not catches_up(schedule):
                self.add_error("next_run", f"This next run lies more than {MISSED_RUNS_MAX:,} runs in the past: "
                                           "the scheduler would step through each before running anything else. "
                                           "Give a time closer to now.")
        return cleaned


CRON_UNAVAILABLE = "Cron schedules need the croniter package, which is not installed; choose another schedule type."


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
