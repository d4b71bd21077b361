"""Throttles that keep answering when their counters cannot be read.

DRF's throttles count requests in the default cache: Redis when `REDIS_URL` is set. When Redis is
down, the plain throttles raise and every throttled endpoint (task creation, the token endpoints,
the public API) answers 500. Here a throttle whose cache cannot be reached lets the request through
and logs one line: the rate limit is lost for the outage, nothing else is. Password guessing stays
bounded meanwhile, because the login lockout (django-axes) counts failures in PostgreSQL.
"""

from __future__ import annotations

import logging

from rest_framework import throttling

from config.outages import CACHE_OUTAGE_ERRORS, outage_summary

logger = logging.getLogger(__name__)


class OpenOnCacheOutageMixin:
    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_OUTAGE_ERRORS as error:
            logger.warning("Throttle %s cannot reach its cache (%s); letting the request through",
                           type(self).__name__, outage_summary(error))
            return True


class ScopedRateThrottle(OpenOnCacheOutageMixin, throttling.ScopedRateThrottle):
    """DRF's scoped throttle (`throttle_scope` on the view), open while its cache is down."""


class AnonRateThrottle(OpenOnCacheOutageMixin, throttling.AnonRateThrottle):
    """DRF's per-address throttle for anonymous clients, open while its cache is down."""
