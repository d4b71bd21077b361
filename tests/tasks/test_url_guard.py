"""The one rule for which URLs may be fetched (`tasks.url_guard`), as applied when a brief is
submitted. `tests/content/test_fetcher.py` runs the same tables through the fetcher."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from tasks import url_guard
from tasks.models import GenerationTask
from tasks.validators import validate_public_http_url

NOT_PUBLIC = "it is not a public address"

# Every literal form of a local, private or otherwise non-public host, as typed in a brief.
NOT_PUBLIC_URLS = [
    "http://127.0.0.1/",
    "http://127.1:8799/",  # short dotted form
    "http://2130706433/",  # decimal
    "http://017700000001/",  # octal
    "http://0x7f.1/",  # hex, short
    "http://0x7f000001/",
    "http://0/",
    "http://0.0.0.0/",
    "http://127.0.0.1.:8000/",  # trailing dot
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",  # shared address space (CGNAT)
    "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fec0::1]/",  # site-local (deprecated, still routed inside a site)
    "http://[feff::1]/",
    "http://[3fff::1]/",  # documentation (RFC 9637)
    "http://[ff02::1]/",
    "http://[2002:7f00:1::]/",  # 6to4
    "http://[2001::1]/",  # Teredo
    "http://localhost:8000/admin/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://printer.local/",
    "http://metadata.google.internal/",
]

# Refused for what the URL is rather than where it points.
MALFORMED_URLS = [
    ("file:///etc/passwd", "Only http and https URLs can be fetched"),
    ("ftp://example.com/notes.txt", "Only http and https URLs can be fetched"),
    ("javascript:alert(1)", "Only http and https URLs can be fetched"),
    ("https:///no-host", "The URL has no host"),
    ("https://user:pw@example.com/", "user name or password"),
    ("http://example.com:99999/", "is not a valid URL"),
    ("http://[::1/", "is not a valid URL"),
    ("http://%31%32%37.0.0.1/", "is not a valid URL"),
    # Names DNS cannot hold: an empty label, a label over 63 bytes, over 253 in all.
    ("https://a..b.example/", "is not a valid URL"),
    ("https://.com/", "is not a valid URL"),
    ("https://" + "a" * 64 + ".example/", "is not a valid URL"),
    ("https://" + ("a" * 60 + ".") * 5 + "example/", "is not a valid URL"),
    # urlsplit drops a tab or a line break without a word; httpx refuses them at every send.
    ("http://example.com/o\tk", "control characters"),
    ("http://exam\nple.com/", "control characters"),
    ("http://example.com/a\r\nX-Forged: 1", "control characters"),
    ("http://example.com/\x01", "control characters"),
    ("http://example.com/\x7f", "control characters"),
    ("http://example.com/a\x85b", "control characters"),
    # A Unicode line or paragraph separator breaks a log line or a header as a newline does.
    ("http://example.com/a\u2028b", "control characters"),
    ("http://example.com/\u2029?q=1", "control characters"),
]

REFUSED_URLS = [(url, NOT_PUBLIC) for url in NOT_PUBLIC_URLS] + MALFORMED_URLS

PUBLIC_URLS = [
    "https://example.org/compost?x=1",
    "http://93.184.215.14/",
    "http://[2606:4700::1111]/",
    "http://[64:ff9b::808:808]/",  # NAT64 of a public address, as a DNS64 resolver answers
    "http://cafe.be/",  # a name made of hex digits is still a name
    "https://" + "a" * 63 + ".example./",  # the longest label, and the root's dot
]


def refusal(url: str) -> str:
    with pytest.raises(ValidationError) as caught:
        url_guard.check_url(url)
    [message] = caught.value.messages
    return message


@pytest.mark.parametrize("url, reason", REFUSED_URLS)
def test_the_guard_refuses_every_non_public_or_malformed_url_with_a_reason(url, reason):
    assert reason in refusal(url)


def test_a_refusal_names_the_host_as_typed():
    assert refusal("http://127.1:8799/") == "Refusing to fetch 127.1: it is not a public address."
    assert refusal("http://[::ffff:127.0.0.1]/x") == "Refusing to fetch ::ffff:127.0.0.1: it is not a public address."
    assert refusal("http://Printer.LOCAL./") == "Refusing to fetch printer.local: it is not a public address."


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_urls_pass_the_guard(url):
    assert url_guard.check_url(f"  {url} ") == url


def test_legacy_numeric_hosts_are_read_as_resolvers_read_them():
    loopback = ipaddress.ip_address("127.0.0.1")
    for host in ("127.1", "2130706433", "017700000001", "0x7f.1", "0x7f000001"):
        assert url_guard.literal_address(host) == loopback
    assert url_guard.literal_address("0") == ipaddress.ip_address("0.0.0.0")
    assert url_guard.literal_address("cafe.be") is None


def test_private_literals_pass_when_private_fetching_is_allowed(settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True
    assert url_guard.check_url("http://127.1:8799/") == "http://127.1:8799/"
    with pytest.raises(ValidationError, match="Only http and https"):
        url_guard.check_url("file:///etc/passwd")  # the scheme rule still holds


@pytest.mark.parametrize("url, reason", REFUSED_URLS)
def test_submitting_a_brief_with_a_refused_url_is_a_400_and_creates_nothing(editor_client, url, reason):
    message = refusal(url)
    for body in ({"topic": "Heat pumps", "source_urls": [url]},
                 {"topic": "Heat pumps", "metadata": {"research": {"urls": [url]}}}):
        response = editor_client.post("/api/tasks", body, format="json")
        assert response.status_code == 400, response.content
        assert message in str(response.json()["error"])
    with pytest.raises(ValidationError) as caught:
        validate_public_http_url(url)
    assert caught.value.messages == [message]
    assert not GenerationTask.objects.exists()


def test_submit_time_validation_calls_the_guard(editor_client, monkeypatch):
    """The validator decides nothing itself: whatever the guard refuses, a brief cannot carry."""

    def guard(url):
        raise ValidationError("Refused by the one guard.")

    monkeypatch.setattr(url_guard, "check_url", guard)
    response = editor_client.post(
        "/api/tasks", {"topic": "Heat pumps", "source_urls": ["https://example.org/fine"]}, format="json"
    )
    assert response.status_code == 400
    assert "Refused by the one guard." in str(response.json()["error"])
    assert not GenerationTask.objects.exists()
