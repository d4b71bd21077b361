"""Template filters for the wording of the admin dashboard (templates/admin/dashboard_*.html)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def waiting_time(since: datetime) -> str:
    """How long something has waited: "under a minute" where Django's `timesince` says "0 minutes",
    else its words ("1 minute", "2 hours, 5 minutes")."""
    if timezone.now() - since < timedelta(minutes=1):
        return "under a minute"
    return timesince(since)


@register.filter
def time_ago(since: datetime) -> str:
    """When something happened: "just now" under a minute, else "5 minutes ago" (`timesince`'s words)."""
    if timezone.now() - since < timedelta(minutes=1):
        return "just now"
    return f"{timesince(since)} ago"
