"""Who is on the other end of a request: the one answer for throttles, the login lockout and logs.

The client is the socket's peer (REMOTE_ADDR) unless that peer is one of the reverse proxies
listed in PRESSROOM_TRUSTED_PROXIES (settings; empty by default: no proxy is trusted). Only then
is X-Forwarded-For read, from the right: each trusted proxy appended the address it saw, so the
right-most address that is not a trusted proxy is the client. Entries further left were written
by the client itself and are never believed, so rotating or spoofing them changes nothing.

`ClientAddressMiddleware` (first in MIDDLEWARE) puts the answer into REMOTE_ADDR, where DRF's
throttles (`NUM_PROXIES = 0`: they read REMOTE_ADDR only), django-axes (`AXES_CLIENT_IP_CALLABLE`)
and anything else that logs an address find it; the peer stays in META[PEER_KEY]. Servers are
started without their own forwarded-header handling (no Daphne `--proxy-headers`: it believes
the left-most entry from any peer), so this module is the only place that reads the header.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

PEER_KEY = "PRESSROOM_PEER_ADDR"


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False) for network in trusted)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    """The client's IP address for `request` (a Django or DRF request)."""
    meta = request.META
    peer = meta.get(PEER_KEY) or meta.get("REMOTE_ADDR") or ""
    networks = _networks(tuple(settings.PRESSROOM_TRUSTED_PROXIES))
    if not networks or not _is_trusted(_address(peer), networks):
        return peer
    client = peer
    for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:  # not written by a proxy we trust: stop at the last address that was
            break
        client = str(address)
        if not _is_trusted(address, networks):
            break
    return client


class ClientAddressMiddleware:
    """Makes REMOTE_ADDR the client's address (see the module), keeping the peer in META[PEER_KEY]."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.setdefault(PEER_KEY, request.META.get("REMOTE_ADDR", ""))
        request.META["REMOTE_ADDR"] = client_address(request)
        return self.get_response(request)


def peer_is_trusted_proxy(request) -> bool:
    """Whether the socket's peer is one of PRESSROOM_TRUSTED_PROXIES: headers only such a proxy
    writes (X-Forwarded-For, X-Request-ID) are believed from it alone."""
    peer = request.META.get(PEER_KEY) or request.META.get("REMOTE_ADDR") or ""
    return _is_trusted(_address(peer), _networks(tuple(settings.PRESSROOM_TRUSTED_PROXIES)))
