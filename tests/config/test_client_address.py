"""One answer to "who is the client": X-Forwarded-For counts only when the peer is a trusted proxy
(PRESSROOM_TRUSTED_PROXIES), read from the right, so throttles cannot be escaped by rotating it."""

import itertools

import pytest
from django.test import RequestFactory

from config.client_address import client_address
from tests.api_errors import error_of

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.7"
_names = itertools.count()


def _request(peer: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **extra)


@pytest.fixture
def behind_proxy(settings):
    settings.PRESSROOM_TRUSTED_PROXIES = ["10.0.0.0/8"]


def _wrong_password(api_client, peer: str, forwarded: str):
    # A new username each time: the lockout (per username) stays out of the way, the throttle is
    # what answers.
    return api_client.post(
        "/api/auth/token", {"username": f"guess{next(_names)}", "password": "wrong"}, format="json",
        REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert client_address(_request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(behind_proxy):
    # The client wrote "1.1.1.1" itself; our proxies appended 198.51.100.9 and 10.0.0.3.
    assert client_address(_request(PROXY, "1.1.1.1, 198.51.100.9, 10.0.0.3")) == "198.51.100.9"


def test_a_peer_outside_the_trusted_proxies_is_the_client_even_with_the_header(behind_proxy):
    assert client_address(_request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_garbage_in_the_header_never_becomes_the_address(behind_proxy):
    assert client_address(_request(PROXY, "<script>, 10.0.0.3")) == "10.0.0.3"
    assert client_address(_request(PROXY, "")) == PROXY


def test_rotating_the_header_from_an_untrusted_peer_does_not_escape_the_token_throttle(api_client):
    statuses = [_wrong_password(api_client, "203.0.113.5", f"198.51.100.{n}").status_code for n in range(60)]
    assert statuses[:20] == [401] * 20  # PRESSROOM_AUTH_RATE's default, 20/minute
    assert set(statuses[20:]) == {429}


def test_behind_a_trusted_proxy_each_client_address_has_its_own_budget(api_client, behind_proxy):
    statuses = [_wrong_password(api_client, PROXY, "198.51.100.1").status_code for _ in range(21)]
    assert statuses[-1] == 429
    assert _wrong_password(api_client, PROXY, "198.51.100.2").status_code == 401


def test_behind_a_trusted_proxy_spoofed_left_most_entries_do_not_escape(api_client, behind_proxy):
    responses = [_wrong_password(api_client, PROXY, f"192.0.2.{n}, 198.51.100.1") for n in range(60)]
    assert [r.status_code for r in responses[:20]] == [401] * 20
    assert {r.status_code for r in responses[20:]} == {429}
    error_of(responses[-1], 429, "throttled")


def test_the_public_api_throttle_uses_the_same_address(api_client):
    from publishing.api.public import PublicRateThrottle

    original = PublicRateThrottle.THROTTLE_RATES
    PublicRateThrottle.THROTTLE_RATES = {**original, "public": "3/minute"}
    try:
        statuses = [
            api_client.get("/api/posts", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
            for n in range(6)
        ]
    finally:
        PublicRateThrottle.THROTTLE_RATES = original
    assert statuses == [200, 200, 200, 429, 429, 429]
