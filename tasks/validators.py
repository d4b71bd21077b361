"""Validators for what a brief may carry from outside: the URLs the research stage will fetch,
and JSON that PostgreSQL can store; dates and times every time zone can show
(`validate_showable_datetime`, which every admin form applies: `config.admin_site.SiteRulesMixin`),
and the UTC offsets the API reads in one (`validate_utc_offset`: the publish API, the task list).

The URL rule itself lives in `tasks.url_guard`; at submit time it is applied without DNS (a brief
is saved without waiting on a resolver), and the fetcher (`content.providers.fetcher`) applies it
again, with DNS, to every request and redirect. The JSON rule (`unstorable_text`) is the one the
API's parser (`config.api.BoundedJSONParser`) and the admin's JSON fields (`tasks.forms`) apply;
`storable_text` (`tasks.control_characters`) is its cleaner for text that arrives from providers and
is kept, not refused.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError

from tasks import url_guard
from tasks.control_characters import first_hidden_character, storable_text
from tasks.url_guard import MAX_URL_LENGTH

__all__ = ["MAX_URL_LENGTH", "UTC_OFFSET_MESSAGE", "storable_text", "unstorable_text", "validate_public_http_url",
           "validate_shown_line", "validate_showable_datetime", "validate_utc_offset"]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_shown_line(text: str) -> None:
    """A ValidationError when one-line text that pages show (a brief's title, topic, category, a
    tag) holds a control character or one that changes how the text around it is shown."""
    hidden = first_hidden_character(text)
    if hidden is not None:
        raise ValidationError(f"Remove the invisible character {hidden}: it would break the line or change how "
                              "the text around it is shown.", code="hidden_character")


def validate_public_http_url(url: str) -> str:
    """The URL, stripped, if the research stage may fetch it; else a ValidationError saying why."""
    return url_guard.check_url(url)


# Python's datetime holds the years 1 to 9999 and PostgreSQL's timestamptz far more, so a time
# typed in range where it was typed (9999-12-31 23:00 in New York is year 10000 in UTC) was stored
# and then failed every read of its row. A day's margin at each end keeps a stored time in range
# once shown in any time zone, whatever TIME_ZONE is now or later (offsets are under a day).
SHOWABLE_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
SHOWABLE_LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def validate_showable_datetime(value: datetime | None) -> None:
    """A ValidationError when the aware `value` is not from 2 January of year 1 to 30 December 9999
    in UTC. Compared as instants, which computes no out-of-range date itself."""
    if value is not None and not SHOWABLE_EARLIEST <= value <= SHOWABLE_LATEST:
        raise ValidationError("Enter a date and time from 2 January of year 1 to 30 December 9999 (UTC), which "
                              "every time zone can show.", code="out_of_range")


# Levels of arrays and objects in JSON from outside (an API body, the body itself included; a form
# field's value): what is stored must be shown again by pages that render it recursively.
JSON_MAX_DEPTH = 100


def nested_deeper_than(data, limit: int) -> bool:
    """Whether `data` has arrays or objects more than `limit` levels deep (walked with a stack)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def unstorable_text(data) -> tuple[str | None, str] | None:
    """The top-level field (None: a top-level key itself or a bare value) and a description of the
    first key or value PostgreSQL cannot store (NUL, a lone surrogate, a number that is not
    finite), or None.

    Walked with a stack, not recursion: the data may be nested as deep as `json` allows.
    """
    if isinstance(data, dict):
        stack = [(None, key) for key in data] + [(str(key), value) for key, value in data.items()]
    else:
        stack = [(None, data)]
    while stack:
        field, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((field, key) for key in item.keys())
            stack.extend((field, value) for value in item.values())
        elif isinstance(item, list):
            stack.extend((field, value) for value in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return field, "a NUL character"
            if _LONE_SURROGATE.search(item):
                return field, "a lone surrogate"
        elif isinstance(item, float) and not math.isfinite(item):
            # `json` reads 1e400 as infinity (and the admin's JSON field accepts NaN and
            # Infinity), which Django writes as a token jsonb rejects.
            return field, "a number that is not finite (NaN, or too large)"
    return None


# The UTC offsets a date and time the API reads may carry (the publish API's `at`, the task list's
# date filters): those of real time zones, -12:00 to +14:00, taken as ±14:00 (one number to
# state). ISO 8601 and Python allow up to ±23:59, but no zone uses more than 14 hours, so a larger
# offset is a client's mistake, not a place; PostgreSQL itself reads offsets only up to ±15:59.
UTC_OFFSET_MAX = timedelta(hours=14)
UTC_OFFSET_MESSAGE = "Give a UTC offset from -14:00 to +14:00, as every time zone has."


def validate_utc_offset(value: datetime) -> None:
    """A ValidationError when the aware `value` was written with an offset no time zone has."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > UTC_OFFSET_MAX:
        raise ValidationError(UTC_OFFSET_MESSAGE, code="utc_offset")
