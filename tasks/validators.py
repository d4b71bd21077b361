"""Validators for what a brief may carry from outside: the URLs the research stage will fetch.

The rule itself lives in `tasks.url_guard`; at submit time it is applied without DNS (a brief is
saved without waiting on a resolver), and the fetcher (`content.providers.fetcher`) applies it
again, with DNS, to every request and redirect.
"""

from __future__ import annotations

from tasks import url_guard
from tasks.url_guard import MAX_URL_LENGTH

__all__ = ["MAX_URL_LENGTH", "validate_public_http_url"]


def validate_public_http_url(url: str) -> str:
    """The URL, stripped, if the research stage may fetch it; else a ValidationError saying why."""
    return url_guard.check_url(url)
