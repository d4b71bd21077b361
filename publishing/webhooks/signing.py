"""Signing deliveries: HMAC-SHA256 over `timestamp + "." + body`, Stripe-style.

The header is `Pressroom-Signature: t=<unix seconds>,v1=<hex digest>`. The timestamp is signed
with the body so a captured delivery cannot be replayed later than the receiver's tolerance
window; it is taken at each attempt, so a retry is not refused as stale. `verify_signature` is
the receiver's recipe (the README shows the same with the standard library alone); Pressroom
itself uses it only in tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Pressroom-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={int(timestamp)},v1={signature(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    # bytes: `compare_digest` raises on text with non-ASCII characters, which a header may hold
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), parts.get("v1", "").encode("ascii", "replace"))
