"""Which URLs Pressroom may fetch on someone's behalf: the one rule, for every way a URL comes in.

A URL an editor types (a brief's research sources) or, later, a webhook target is a request the
server makes for them, so it must not reach this machine or a private network. `check_url` is the
rule without DNS, for refusing a brief when it is submitted: http or https, a host, no user name or
password, no control character (`tasks.control_characters`: a tab or line break `urlsplit` would
drop silently and httpx refuse at every send, or a Unicode line separator), and a host that is not
`localhost`, `*.localhost`, `*.local`, `*.internal` or a literal address that is not public, in
every form a resolver accepts (`127.1`, `2130706433`, `0x7f.1`, `017700000001`, `0`, IPv4-mapped and
NAT64 IPv6). `public_addresses` is the same rule plus DNS, for the moment of fetching (every request
and every redirect): every address the host resolves to must be public, and the caller connects only
to those addresses.

A URL must also be one the sender can send (`_sendable`): httpx, which makes every request, refuses
a host name it cannot encode (`xn--`, the "ﬁ" ligature) or an IPvFuture literal, percent-encodes a
space into the name, and connects to port 0 as given; such a URL was accepted and then failed at
every fetch or delivery until its subscription was switched off.

Refusals are `ValidationError`s whose message names the host as given, never what a name resolves
to: that would tell an editor about the internal network. PRESSROOM_FETCH_ALLOW_PRIVATE (tests
serving pages from 127.0.0.1) lifts the address rule here and nowhere else. This module imports the
standard library, httpx, Django settings, `tasks.control_characters` and `tasks.exceptions`;
`content` and webhooks import it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from tasks.control_characters import CONTROL_CHARACTERS
from tasks.exceptions import TransientError

MAX_URL_LENGTH = 2000
ALLOWED_SCHEMES = ("http", "https")
LOCAL_NAMES = ("localhost",)
LOCAL_SUFFIXES = (".localhost", ".local", ".internal")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not public, though Python's `is_global` says so: the deprecated site-local block (RFC 3879; still
# routed inside the sites that used it) and the IPv6 documentation block added by RFC 9637 (2024).
_NOT_GLOBAL_IPV6 = (ipaddress.ip_network("fec0::/10"), ipaddress.ip_network("3fff::/20"))
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")
# A host as httpx sends it (IDNA-encoded): letters, digits, dots, hyphens and the underscore some
# real names hold; or an IPv6 literal without its brackets, with its zone when it has one.
_SENDABLE_HOST = re.compile(rb"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._-]+)?")


def shown(text: str, limit: int = 100) -> str:
    """`text` as a message quotes it: cut at `limit` characters."""
    return text if len(text) <= limit else text[:limit] + "…"


def is_public_address(address: IPAddress) -> bool:
    """Whether `address` is on the public internet: not loopback, private, shared (CGNAT
    100.64/10), link-local, site-local, documentation, multicast, reserved or unspecified.

    An IPv4-mapped or NAT64 (64:ff9b::/96, what a DNS64 resolver answers for an IPv4-only host)
    address is judged by the IPv4 address it carries. 6to4 and Teredo addresses are refused
    outright: where their packets end up is not the address they embed."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None or address.teredo is not None:
            return False
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(address in network for network in _NOT_GLOBAL_IPV6):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_address(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal, including the legacy IPv4 forms resolvers accept
    (`2130706433`, `017700000001`, `0x7f.1`, `127.1`, `0`); None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_local_name(host: str) -> bool:
    return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)


def _not_public(host: str) -> ValidationError:
    return ValidationError(f"Refusing to fetch {shown(host)}: it is not a public address.", code="private_address")


def check_url(url: str) -> str:
    """`url`, stripped, if it may be fetched as far as can be told without DNS; else a
    ValidationError saying why, naming the URL or host as given."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("Enter a URL.", code="required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"URLs longer than {MAX_URL_LENGTH} characters are not fetched.", code="too_long")
    if CONTROL_CHARACTERS.search(url):  # urlsplit drops a tab or line break silently; httpx refuses them
        quoted = CONTROL_CHARACTERS.sub(lambda match: quote(match.group()), shown(url))  # %09, %0A…
        raise ValidationError(f"URLs with control characters (a tab, a line break…) are not fetched: {quoted}",
                              code="control_characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValidationError(f"{shown(url)!r} is not a valid URL.", code="invalid") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValidationError(
            f"Only http and https URLs can be fetched, not {shown(parts.scheme) or 'this'}: {shown(url)}",
            code="scheme_not_allowed",
        )
    host = (hostname or "").rstrip(".")
    if not host:
        raise ValidationError(f"The URL has no host: {shown(url)}", code="no_host")
    if "%" in host and ":" not in host:  # a percent-encoded name; only an IPv6 zone may hold "%"
        raise ValidationError(f"{shown(url)!r} is not a valid URL.", code="invalid")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("URLs with a user name or password are not fetched.", code="credentials")
    if parts.port == 0:
        raise ValidationError(f"Port 0 cannot be connected to: {shown(url)}", code="invalid")
    if not _sendable(url):
        raise ValidationError(f"{shown(url)!r} is not a valid URL.", code="invalid")
    if settings.PRESSROOM_FETCH_ALLOW_PRIVATE:
        return url
    address = literal_address(host)
    if _is_local_name(host) or (address is not None and not is_public_address(address)):
        raise _not_public(host)
    return url


def _sendable(url: str) -> bool:
    """Whether httpx, which sends every request, takes `url` with a host it can put on the wire."""
    try:
        parsed = httpx.URL(url)
        parsed.host  # noqa: B018 - decodes the name: a malformed A-label ("xn--") raises here, as at every send
    except (httpx.InvalidURL, UnicodeError):  # idna's IDNAError is a UnicodeError, not an InvalidURL
        return False
    raw_host = parsed.raw_host
    if not _SENDABLE_HOST.fullmatch(raw_host):
        return False
    if b":" in raw_host:  # an IPv6 literal
        return True
    # A name as DNS can hold it: labels of 1 to 63 bytes (no "a..b", no ".com"), 253 in all.
    labels = raw_host.removesuffix(b".").split(b".")
    return len(raw_host.removesuffix(b".")) <= 253 and all(1 <= len(label) <= 63 for label in labels)


def public_addresses(url: str) -> tuple[IPAddress, ...]:
    """The addresses to connect to for `url`, after `check_url` and a DNS lookup whose every
    answer is public: with one private answer among public ones, which address a client uses is
    up to the resolver, and so up to whoever controls the DNS. Connect to these addresses only,
    so a second lookup cannot swap in an internal one.

    A refusal is a ValidationError that does not say what the name resolved to; a failed lookup
    is a TransientError (DNS failures pass)."""
    url = check_url(url)
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TransientError(f"Could not resolve the host of {shown(url, 200)}: {error}") from None
    addresses = tuple(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not addresses:
        raise TransientError(f"The host of {shown(url, 200)} resolved to no address.")
    if not settings.PRESSROOM_FETCH_ALLOW_PRIVATE and not all(map(is_public_address, addresses)):
        raise ValidationError(
            f"Refusing to fetch {shown(host)}: it resolves to a private or local address.", code="private_address"
        )
    return addresses
