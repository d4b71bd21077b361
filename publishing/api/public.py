"""What every public read endpoint of the blog shares: no authentication, the `public` throttle.

The public endpoints (`/api/posts`, `/api/posts/{slug}`, `/api/posts/search`) show only what the
blog already shows to anyone, so they read no cookie or token: a signed-in editor is a reader
here like any other, and a stale or malformed token cannot turn a public read into a 401. Every
client is therefore throttled alike, per address, at `PRESSROOM_PUBLIC_API_RATE` (settings); a
front end that renders on its own server and calls from one address needs a rate to match.
Browsers on other sites may read these endpoints when their origin is listed in
`PRESSROOM_CORS_ALLOWED_ORIGINS` (settings, `CORS_URLS_REGEX`).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny
from config.throttling import AnonRateThrottle

THROTTLED = {429: OpenApiResponse(description="Too many requests from this address; `Retry-After` says when to "
                                  "try again. The usual error body.")}


class PublicRateThrottle(AnonRateThrottle):
    """Requests per address to the public read endpoints; over the rate: 429 with `Retry-After`."""

    scope = "public"


class PublicReadMixin:
    """Mixed into the views of the public read endpoints: anyone may call them, nobody is
    authenticated, everyone is throttled."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [PublicRateThrottle]
