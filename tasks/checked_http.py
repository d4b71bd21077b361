"""Connecting to a URL's checked addresses: the one way a request made on someone's behalf
connects.

`tasks.url_guard.public_addresses` checks a URL and resolves its host. Connecting to the host
*name* afterwards would resolve it a second time, and a second DNS answer could swap in an
internal address (DNS rebinding). So a request goes to each checked address in turn, as a client
would to a name, with the name kept for the Host header and for TLS (SNI and the certificate
check). Research pages and images (`content.providers.fetcher.guarded_get`) and webhook
deliveries (`publishing.webhooks.services`) connect this way; each decides itself what to do with
redirects. Imports: httpx, Django's `ValidationError`, `tasks.url_guard` and
`tasks.http_deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.core.exceptions import ValidationError

from tasks import url_guard
from tasks.http_deadline import ExchangeDeadline
from tasks.url_guard import IPAddress

MAX_ADDRESSES = 4  # of a host's addresses, tried in turn when a connection fails


@dataclass(frozen=True)
class CheckedURL:
    """A URL the guard let pass, with the addresses its host resolved to then."""

    url: httpx.URL  # as given, with the host name
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")


def checked_url(url: str) -> CheckedURL:
    """`url` and its public addresses (at most MAX_ADDRESSES), or the guard's `ValidationError`
    (refused) or `TransientError` (its host did not resolve)."""
    addresses = url_guard.public_addresses(url)
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL:
        raise ValidationError(f"{url_guard.shown(url)!r} is not a valid URL.", code="invalid") from None
    return CheckedURL(url=parsed, addresses=tuple(addresses[:MAX_ADDRESSES]))


def send_to_checked_addresses(client: httpx.Client, method: str, target: CheckedURL, deadline: ExchangeDeadline,
                              *, headers: dict | None = None, content: bytes | None = None) -> httpx.Response:
    """A streamed request to the first of `target`'s addresses that accepts a connection in time,
    never to an address that was not checked; the caller closes the answer. An address that
    refuses (`httpx.ConnectError`) or does not answer within the connect timeout
    (`httpx.ConnectTimeout`: it drops packets, or the host is down) is passed over for the next.
    Raises the last of those errors when none did, `httpx.ConnectError` when `deadline` passed
    before any address was tried, and any other `httpx.HTTPError` as it comes."""
    extensions = {"trace": deadline.trace}
    if target.url.scheme == "https":
        extensions["sni_hostname"] = target.url.raw_host.decode("ascii")
    failure = httpx.ConnectError(f"{target.url.host} has no address to connect to.")
    for address in target.addresses:
        if deadline.passed():
            break
        request = client.build_request(method, target.url.copy_with(host=str(address)), content=content,
                                       headers={**(headers or {}), "Host": target.host_header}, extensions=extensions)
        try:
            return client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            failure = error
    raise failure
