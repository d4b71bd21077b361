"""django-axes' admin of access attempts and logins, with its one action mended and its log fitted.

"Clean up expired attempts" (django-axes 8.3.1) hands the admin's request to its handler, which
reads `request.axes_attempt_time`: an attribute axes sets only on the requests of a login, so the
action always failed with AttributeError (a 500). Here the request says "no attempt time", which
the handler reads as now. The access log's list shows the start of each user agent (the whole
on hover and on the entry's page), so its columns fit 1280 px. Registered in place of axes' own
by `config.apps.PressroomConfig.ready`, after the admin has discovered every app's admin module.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

USER_AGENT_PREVIEW_CHARS = 40


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    @admin.action(description="Clean up expired attempts")
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = None  # the cool-off is counted back from now
        return super().cleanup_expired_attempts(request, queryset)


class AccessLogAdmin(AxesAccessLogAdmin):
    list_display = ("attempt_time", "logout_time", "ip_address", "username", "short_user_agent", "path_info")

    @admin.display(description="user agent", ordering="user_agent")
    def short_user_agent(self, entry: AccessLog):
        return format_html('<span title="{}">{}</span>', entry.user_agent,
                           Truncator(entry.user_agent).chars(USER_AGENT_PREVIEW_CHARS))


def register() -> None:
    for model, model_admin in ((AccessAttempt, AccessAttemptAdmin), (AccessLog, AccessLogAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
            admin.site.register(model, model_admin)
