"""System checks of Pressroom's own settings, run by `manage.py check` (`--deploy` for these)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_for_emails(app_configs, **kwargs):
    """Notification emails link to the admin; without the site's origin they carry bare paths."""
    if settings.PRESSROOM_NOTIFY_EMAILS and not settings.PRESSROOM_SITE_URL:
        return [Warning(
            "PRESSROOM_SITE_URL is not set: notification emails will name admin paths without the site's address.",
            hint="Set PRESSROOM_SITE_URL=https://<your public host> on the web and worker processes "
                 "(or PRESSROOM_NOTIFY_EMAILS=0).",
            id="pressroom.W001",
        )]
    return []
