"""django-q2 jobs of `publishing`: thin entry points that call the publishing services."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from config.tokens import expired_tokens_flush
from publishing.caching import owed_bump_make
from publishing.services.media_files import unreferenced_media_delete
from publishing.services.posts import record_due_publications as _record_due_publications
from publishing.webhooks.notifications import notification_history_prune
from publishing.webhooks.services import webhook_history_prune

# A file this young may belong to a publication or a stage that has not committed its row yet.
UNREFERENCED_MEDIA_GRACE = timedelta(days=1)


def record_due_publications() -> int:
    """Record scheduled posts that went live (run by a one-off schedule and a minute sweep)."""
    return _record_due_publications()


def blog_version_bump() -> None:
    """Make a bump of the blog's version that a change could not make while the cache was down."""
    owed_bump_make()


def housekeeping() -> dict:
    """The daily sweep of what would otherwise grow for ever: webhook attempts and notification
    lines older than PRESSROOM_DELIVERY_HISTORY_DAYS, expired refresh tokens, and media files
    older than a day that no post or version names. Returns what it deleted."""
    kept = timedelta(days=settings.PRESSROOM_DELIVERY_HISTORY_DAYS)
    return {
        "webhook_deliveries": webhook_history_prune(older_than=kept),
        "notifications": notification_history_prune(older_than=kept),
        "expired_tokens": expired_tokens_flush(),
        "unreferenced_media": unreferenced_media_delete(older_than=UNREFERENCED_MEDIA_GRACE),
    }
