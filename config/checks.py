"""System checks of Pressroom's own settings, run by `manage.py check` (`--deploy` for these)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_for_links(app_configs, **kwargs):
    """Notification emails and webhook bodies link to pages of the site; without its origin they
    carry bare paths."""
    if not settings.PRESSROOM_SITE_URL:
        return [Warning(
            "PRESSROOM_SITE_URL is not set: notification emails and webhook bodies will give pages as "
            "paths without the site's address.",
            hint="Set PRESSROOM_SITE_URL=https://<your public host> on the web and worker processes.",
            id="pressroom.W001",
        )]
    return []
