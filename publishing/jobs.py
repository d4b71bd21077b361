"""django-q2 jobs of `publishing`: thin entry points that call the publishing services."""

from __future__ import annotations

from publishing.services.posts import record_due_publications as _record_due_publications


def record_due_publications() -> int:
    """Record scheduled posts that went live (run by a one-off schedule and a minute sweep)."""
    return _record_due_publications()
