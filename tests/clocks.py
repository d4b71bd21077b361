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

from tasks.selectors import database_now  # noqa: F401 (the database server's time, as the code reads it)

SKEW = 120  # seconds: a VM resumed, or NTP broken for a while


class _Shifted:
    """A clock `offset` seconds off `clock`. A callable object, not a function: code that keeps
    it (`SimpleRateThrottle.timer = time.time`, run at import inside a skewed block) neither binds
    it as a method nor stays skewed once the block ends, the offset being back to 0."""

    def __init__(self, clock, to_offset):
        self.clock, self.to_offset, self.offset = clock, to_offset, 0.0

    def __call__(self):
        return self.clock() + self.to_offset(self.offset)


_now = _Shifted(timezone.now, lambda seconds: timedelta(seconds=seconds))
_time = _Shifted(time.time, lambda seconds: seconds)


@contextmanager
def clock_off_by(seconds: float):
    """Within the block, this process's wall clock (its threads included) is `seconds` off the
    true time: `django.utils.timezone.now()` and `time.time()`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", _now)
        patch.setattr(time, "time", _time)
        patch.setattr(_now, "offset", seconds)
        patch.setattr(_time, "offset", seconds)
        yield
