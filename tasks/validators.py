"""Validators for what a brief may carry from outside: URLs the pipeline will fetch.

This check runs when the brief is submitted; the fetcher (content.providers.research) checks
again after resolving the host name, so a public name that points at a private address is
refused too.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_URL_LENGTH = 2000


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and (address.sixtofour or address.teredo) is not None)
    )


def validate_public_http_url(url: str) -> str:
    """Return the URL if it is an http(s) URL to a host that is not this machine or a private net."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("Enter a URL.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"URLs longer than {MAX_URL_LENGTH} characters are not fetched.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(f"Only http and https URLs can be fetched, not {parts.scheme or 'this'}: {url[:100]}")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValidationError(f"The URL has no host: {url[:100]}")
    if parts.username or parts.password:
        raise ValidationError("URLs with a user name or password are not fetched.")
    if settings.PRESSROOM_FETCH_ALLOW_PRIVATE:
        return url
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise ValidationError(f"Refusing to fetch {host}: it is not a public address.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not is_public_address(address):
        raise ValidationError(f"Refusing to fetch {host}: it is not a public address.")
    return url
