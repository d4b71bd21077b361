"""django-q2's admin of schedules (the reconciler, the webhook sweep, housekeeping, scheduled
publications), fitted to 1280 px: the function a schedule runs goes under its name, breakable at
its dots, instead of a column of its own that pushed the last ones out of sight, and the cluster
is a filter. Registered in place of django-q2's own (its admin module is discovered first:
`django_q` comes before `tasks` in INSTALLED_APPS)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_q.admin import ScheduleAdmin as DjangoQScheduleAdmin
from django_q.models import Schedule


class ScheduleAdmin(DjangoQScheduleAdmin):
    list_display = ("name_cell", "schedule_type", "next_run", "get_last_run", "get_success")  # repeats: on its page
    list_display_links = ("name_cell",)

    @admin.display(description="schedule", ordering="name")
    def name_cell(self, schedule: Schedule):
        dotted = format_html_join(mark_safe(".<wbr>"), "{}", ((part,) for part in schedule.func.split(".")))
        return format_html('{}<span class="cell-note">{}</span>', schedule.name or f"Schedule {schedule.pk}", dotted)


if admin.site.is_registered(Schedule):
    admin.site.unregister(Schedule)
admin.site.register(Schedule, ScheduleAdmin)
