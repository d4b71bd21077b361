"""A machine whose clock is off, for the clock-skew tests: never by sleeping.

Clusters on many machines share one database, and the machines' clocks differ (a VM resumed, NTP
broken). `clock_off_by(seconds)` makes this process play such a machine: Django's
`timezone.now()` is `seconds` ahead (or behind, when negative) of the true time, while the
database server's clock (`now()`, `statement_timestamp()`) stays true. Every decision that one
process's timestamp and another's "now" both take part in must come out the same.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

SKEW = 120  # seconds: a VM resumed, or NTP broken for a while


@contextmanager
def clock_off_by(seconds: float):
    """Within the block, `django.utils.timezone.now()` of this process (its threads included) is
    `seconds` off the true time."""
    true_now = timezone.now
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: true_now() + timedelta(seconds=seconds))
        yield
