"""django-axes' admin of access attempts, with its one action mended.

"Clean up expired attempts" (django-axes 8.3.1) hands the admin's request to its handler, which
reads `request.axes_attempt_time`: an attribute axes sets only on the requests of a login, so the
action always failed with AttributeError (a 500). Here the request says "no attempt time", which
the handler reads as now. Registered in place of axes' own by `config.apps.PressroomConfig.ready`,
after the admin has discovered every app's admin module.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    @admin.action(description="Clean up expired attempts")
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = None  # the cool-off is counted back from now
        return super().cleanup_expired_attempts(request, queryset)


def register() -> None:
    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
        admin.site.register(AccessAttempt, AccessAttemptAdmin)
