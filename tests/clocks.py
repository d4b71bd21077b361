"""A machine whose clock is off, for the clock-skew tests: never by sleeping.

Clusters on many machines share one database, and the machines' clocks differ (a VM resumed, NTP
broken). `clock_off_by(seconds)` makes this process play such a machine: Django's
`timezone.now()` and `time.time()` are `seconds` ahead (or behind, when negative) of the true time, while the
database server's clock (`now()`, `statement_timestamp()`) stays true. Every decision that one
process's timestamp and another's "now" both take part in must come out the same.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

SKEW = 120  # seconds: a VM resumed, or NTP broken for a while


@contextmanager
def clock_off_by(seconds: float):
    """Within the block, this process's wall clock (its threads included) is `seconds` off the
    true time: `django.utils.timezone.now()` and `time.time()`."""
    true_now, true_time = timezone.now, time.time
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: true_now() + timedelta(seconds=seconds))
        patch.setattr(time, "time", lambda: true_time() + seconds)
        yield


def database_now():
    """The database server's time."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]
