"""The fetcher: reading a web page's text, with `tasks.url_guard` applied to every request and
redirect. The URL tables are the guard's own (`tests/tasks/test_url_guard.py`), so a URL refused
when a brief is submitted is refused, with the same words, when it would be fetched."""

from __future__ import annotations

import ipaddress
import re
import socket
import time

import pytest
from django.core.exceptions import ValidationError

from content.providers.fetcher import extract_html, fetch_page
from tasks import url_guard
from tasks.exceptions import PermanentError, TransientError
from tests.content.fake_servers import Page, gzip_bomb, peak_memory
from tests.tasks.test_url_guard import NOT_PUBLIC_URLS, REFUSED_URLS


@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """The test server lives on 127.0.0.1; let that one address pass while every other local or
    private address is still refused, so the checks after the first hop can be tested."""
    real = url_guard.is_public_address
    monkeypatch.setattr(
        url_guard, "is_public_address", lambda address: address == ipaddress.ip_address("127.0.0.1") or real(address)
    )


@pytest.fixture
def no_dns(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a refused URL must not be resolved")

    monkeypatch.setattr(url_guard.socket, "getaddrinfo", refuse)


def resolving_to(monkeypatch, *answers):
    """Make every host name resolve to `answers`."""
    def getaddrinfo(host, port, **kwargs):
        return [(socket.AF_INET6 if ":" in answer else socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))
                for answer in answers]

    monkeypatch.setattr(url_guard.socket, "getaddrinfo", getaddrinfo)


# --- Reading pages -------------------------------------------------------------------------------


def test_article_text_is_extracted_without_page_noise(pages, allow_private):
    page = fetch_page(f"{pages.url}/article")
    assert page.title == "Composting at home: a practical guide"
    assert "greens and browns" in page.text and "smells of earth" in page.text
    noises = ("SCRIPT-NOISE", "NAV-NOISE", "ASIDE-NOISE", "FORM-NOISE", "FOOTER-NOISE", "NOSCRIPT-NOISE", "font-family")
    for noise in noises:
        assert noise not in page.text
    assert "Garden Weekly" not in page.text  # the site header, outside the article



def test_the_host_name_is_kept_while_connecting_to_the_checked_address(pages, allow_private):
    page = fetch_page(f"http://localhost:{pages.port}/article")
    assert pages.requests[0].headers["host"] == f"localhost:{pages.port}"
    assert page.url == f"http://localhost:{pages.port}/article"


def test_redirects_are_followed_to_the_final_page(pages, allow_private):
    page = fetch_page(f"{pages.url}/redirect-chain/3")
    assert page.url == f"{pages.url}/article"
    assert [request.path for request in pages.requests] == [
        "/redirect-chain/3", "/redirect-chain/2", "/redirect-chain/1", "/article"
    ]


def test_more_than_three_redirects_are_refused(pages, allow_private):
    with pytest.raises(PermanentError, match="redirected more than 3 times"):
        fetch_page(f"{pages.url}/redirect-chain/4")
    assert len(pages.requests) == 4


def test_plain_text_pages_are_read(pages, allow_private):
    page = fetch_page(f"{pages.url}/plain")
    assert page.title == "Field notes on soil"
    assert page.paragraphs[1] == "Worms do most of the work in a cold compost heap."


@pytest.mark.parametrize("declared", [
    {"content_type": "text/html; charset=undefined"},
    {"content_type": "text/html; charset=idna"},
    {"content_type": "text/html; charset=punycode"},
    {"content_type": "text/html; charset=rot13"},
    {"content_type": "text/html", "meta": '<meta charset="undefined">'},
], ids=["undefined", "idna", "punycode", "rot13", "meta-undefined"])
def test_a_page_declaring_a_charset_that_cannot_decode_it_is_read_as_utf8(pages, allow_private, declared):
    body = ("<html><head>" + declared.get("meta", "") + "<title>Caf\u00e9 notes</title></head><body>"
            "<p>Compost needs air \u2014 turn it weekly.</p>").encode() + b"<p>\xff</p></body></html>"
    page = fetch_page(pages.add("/charset", Page(body=body, content_type=declared["content_type"])))
    assert page.title == "Caf\u00e9 notes"
    assert page.paragraphs == ("Compost needs air \u2014 turn it weekly.", "\ufffd")


def test_nul_and_lone_surrogates_in_a_page_are_dropped(pages, allow_private):
    body = "<html><title>Com&#0;post\x00</title><p>Turn\x00 it &#xD800;weekly.</p></html>".encode()
    page = fetch_page(pages.add("/nul", Page(body=body)))
    assert (page.title, page.paragraphs) == ("Com\ufffdpost", ("Turn it \ufffdweekly.",))


def test_content_that_is_not_a_web_page_is_refused(pages, allow_private):
    with pytest.raises(PermanentError, match="application/octet-stream, not a web page"):
        fetch_page(f"{pages.url}/binary")


def test_a_page_is_read_only_up_to_the_size_cap(pages, allow_private, settings):
    settings.PRESSROOM_FETCH_MAX_BYTES = 50_000
    started = time.monotonic()
    page = fetch_page(f"{pages.url}/huge")
    assert time.monotonic() - started < 5
    assert page.truncated
    assert 40_000 < len(page.text) <= 50_000
    assert "NEEDLE" not in page.text



BOMB_BYTES = 50_000_000  # what the compressed pages below inflate to
MEMORY_ALLOWED = 8_000_000  # a 500 kB page read, decoded and parsed, far below BOMB_BYTES


def test_a_compressed_page_is_inflated_no_further_than_the_size_cap(pages, allow_private, settings):
    settings.PRESSROOM_FETCH_MAX_BYTES = 500_000
    body = gzip_bomb(b"<html><body><p>", BOMB_BYTES)
    url = pages.add("/bomb", Page(body=body, headers={"Content-Encoding": "gzip"}))
    peak = peak_memory(lambda: fetch_page(url))
    assert peak < MEMORY_ALLOWED, f"a {len(body):,}-byte page took {peak:,} bytes of memory"
    page = fetch_page(url)
    assert page.truncated and len(page.text) <= 500_000


@pytest.mark.parametrize("coding", ["gzip, gzip", "deflate, gzip", "br"])
def test_a_page_compressed_twice_over_or_in_a_coding_not_offered_is_refused_naming_it(pages, allow_private, coding):
    body = gzip_bomb(b"<html><body><p>", BOMB_BYTES, layers=2)
    url = pages.add("/bomb", Page(body=body, headers={"Content-Encoding": coding}))
    with pytest.raises(PermanentError, match=re.escape(url) + " sent a body (compressed 2 times over|in the 'br')"):
        fetch_page(url)
    assert peak_memory(lambda: fetch_page(url)) < MEMORY_ALLOWED


def test_missing_page_is_a_permanent_error_naming_the_url(pages, allow_private):
    with pytest.raises(PermanentError, match=r"/missing answered HTTP 404"):
        fetch_page(f"{pages.url}/missing")


def test_server_errors_and_unreachable_hosts_are_transient(pages, allow_private):
    pages.add("/busy", Page(503, "busy", headers={"Retry-After": "7"}))
    with pytest.raises(TransientError) as caught:
        fetch_page(f"{pages.url}/busy")
    assert caught.value.retry_after == 7
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="Could not reach"):
        fetch_page(f"http://127.0.0.1:{closed_port}/")


def test_slow_page_times_out_as_transient(pages, allow_private, settings, monkeypatch):
    settings.PRESSROOM_FETCH_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(pages, "handle", lambda exchange: exchange.wait(5))
    started = time.monotonic()
    with pytest.raises(TransientError, match="did not answer in time"):
        fetch_page(f"{pages.url}/article")
    assert time.monotonic() - started < 3


def drip_headers(exchange):
    """A server that sends its status line and headers a byte every 0.2 s: each byte restarts a
    per-read timeout, so only a limit on the whole fetch ends it (8 s of headers here)."""
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"p" * 40 + b"\r\n\r\n"
    for byte in head:
        if not exchange.wait(0.2) or not exchange.write(bytes([byte])):
            return


def test_a_page_whose_headers_drip_in_is_cut_off_at_twice_the_timeout(pages, allow_private, settings, monkeypatch):
    settings.PRESSROOM_FETCH_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(pages, "handle", drip_headers)
    started = time.monotonic()
    with pytest.raises(TransientError, match="took too long to load"):
        fetch_page(f"{pages.url}/article")
    assert time.monotonic() - started < 3.5



@pytest.mark.parametrize("location", ["http://[::1", "http://a]b/", "//[x", "http://[::1]:x/"])
def test_a_redirect_to_an_address_that_cannot_be_read_is_permanent_naming_the_url(pages, allow_private, location):
    start = pages.add("/odd-redirect", Page(302, headers={"Location": location}))
    with pytest.raises(PermanentError, match=re.escape(start)):
        fetch_page(start)
    assert [request.path for request in pages.requests] == ["/odd-redirect"]


# --- The guard, on every request and redirect ----------------------------------------------------


def guard_message(url: str) -> str:
    with pytest.raises(ValidationError) as caught:
        url_guard.check_url(url)
    return caught.value.messages[0]


@pytest.mark.parametrize("url, reason", REFUSED_URLS)
def test_every_url_refused_at_submit_is_refused_at_fetch_with_the_same_words(url, reason, no_dns):
    with pytest.raises(PermanentError) as caught:
        fetch_page(url)
    assert str(caught.value) == guard_message(url)
    assert reason in str(caught.value)


@pytest.mark.parametrize("url", NOT_PUBLIC_URLS)
def test_a_redirect_to_a_refused_address_is_refused(url, pages, monkeypatch):
    """The first hop (the test server, on loopback) is let through by address; the redirect
    target goes through the real guard."""
    start = pages.add("/to-refused", Page(302, headers={"Location": url}))
    real = url_guard.public_addresses
    monkeypatch.setattr(
        url_guard, "public_addresses",
        lambda target: (ipaddress.ip_address("127.0.0.1"),) if target == start else real(target),
    )
    with pytest.raises(PermanentError) as caught:
        fetch_page(start)
    assert str(caught.value) == guard_message(url)
    assert [request.path for request in pages.requests] == ["/to-refused"]


def test_fetching_calls_the_guard(monkeypatch):
    def guard(url):
        raise ValidationError("Refused by the one guard.")

    monkeypatch.setattr(url_guard, "check_url", guard)
    with pytest.raises(PermanentError, match="Refused by the one guard."):
        fetch_page("https://example.org/fine")


@pytest.mark.parametrize("answer", ["127.0.0.1", "10.0.0.5", "100.64.0.7", "::1", "::ffff:192.168.1.1", "fd00::1",
                                    "64:ff9b::a9fe:a9fe"])
def test_a_name_resolving_to_a_private_address_is_refused_without_saying_the_address(answer, monkeypatch):
    resolving_to(monkeypatch, "93.184.215.14", answer)
    with pytest.raises(PermanentError) as caught:
        fetch_page("https://intranet.example.com/wiki")
    message = str(caught.value)
    assert message == "Refusing to fetch intranet.example.com: it resolves to a private or local address."
    assert answer not in message and str(ipaddress.ip_address(answer)) not in message


def test_a_name_resolving_to_loopback_passes_at_submit_and_is_refused_at_fetch(monkeypatch):
    resolving_to(monkeypatch, "127.0.0.1")
    assert url_guard.check_url("http://sneaky.example.com/") == "http://sneaky.example.com/"  # no DNS at submit
    with pytest.raises(PermanentError, match="resolves to a private or local address") as caught:
        fetch_page("http://sneaky.example.com/")
    assert "127.0.0.1" not in str(caught.value)


def test_a_host_that_does_not_resolve_is_transient(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(url_guard.socket, "getaddrinfo", fail)
    with pytest.raises(TransientError, match="Could not resolve the host of https://nowhere.example/"):
        fetch_page("https://nowhere.example/")


def test_loopback_is_refused_by_default_even_for_the_test_server(pages):
    with pytest.raises(PermanentError, match="not a public address"):
        fetch_page(f"{pages.url}/article")
    assert pages.requests == []


def test_redirect_to_the_metadata_address_is_refused(pages, loopback_counts_as_public):
    assert fetch_page(f"{pages.url}/article").title  # the first hop itself is allowed
    with pytest.raises(PermanentError, match=r"Refusing to fetch 169\.254\.169\.254"):
        fetch_page(f"{pages.url}/redirect-metadata")


def test_redirect_to_localhost_by_name_is_refused(pages, loopback_counts_as_public):
    pages.add("/to-localhost", Page(301, headers={"Location": f"http://localhost:{pages.port}/article"}))
    with pytest.raises(PermanentError, match="Refusing to fetch localhost"):
        fetch_page(f"{pages.url}/to-localhost")
    assert [request.path for request in pages.requests] == ["/to-localhost"]


def test_html_text_comes_from_the_article_when_it_has_one():
    html = "<title>T</title><nav>menu</nav><article><p>" + "Soil. " * 50 + "</p></article><p>elsewhere</p>"
    title, paragraphs = extract_html(html)
    assert title == "T" and paragraphs == (("Soil. " * 50).strip(),)


# --- Hostile markup: CPython's parser before gh-135462 ------------------------------------------

INTRO = "<html><body><p>The intro paragraph says what the page is about.</p>"


def test_markup_that_can_never_close_is_written_as_text_and_the_rest_left_alone():
    from content.providers.fetcher import parseable_html

    assert parseable_html("<p>a</p> 1 < 2 <b") == "<p>a</p> 1 &lt; 2 &lt;b"
    assert parseable_html("<!-- old --><p>a</p><!-- open <p>b</p>") == (
        "<!-- old --><p>a</p>&lt;!-- open <p>b</p>")
    assert parseable_html("<![if !IE]><p>a</p><![endif]>") == "<! [if !IE]><p>a</p><! [endif]>"
    page = "<!DOCTYPE html><html><!-- note --><p class='x'>a &amp; b</p><script>if (a < b) {}</script></html>"
    assert parseable_html(page) == page


@pytest.mark.parametrize("opener", ["<a ", "<!--", "</", "<?", "<!x", "<![", "<a b='"])
def test_a_page_of_openers_that_never_close_is_read_as_one_run_of_text(opener, monkeypatch):
    """Before, the parser looked for each opener's end from every one of them to the end of the
    page (60 kB of `<a ` took 34 s) and handed each back as a piece of text of its own."""
    from content.providers import fetcher

    pieces = []
    handle_data = fetcher._PageText.handle_data
    monkeypatch.setattr(fetcher._PageText, "handle_data", lambda self, data: pieces.append(data) or handle_data(self, data))

    title, paragraphs = extract_html(INTRO + opener * 5000)

    assert paragraphs[0] == "The intro paragraph says what the page is about."
    assert len(pieces) <= 3, f"{len(pieces)} pieces"


def test_a_marked_section_is_read_as_browsers_read_it_a_comment_up_to_the_next_bracket():
    # `<![` without a name raised AssertionError out of the parser before.
    title, paragraphs = extract_html(INTRO + "<p>Then <![ this.</p><p>And this.</p>")
    assert paragraphs == ("The intro paragraph says what the page is about.", "Then", "And this.")


def test_the_conditionals_of_old_pages_show_nothing():
    title, paragraphs = extract_html(INTRO + "<![if !IE]><p>For every browser.</p><![endif]>")
    assert paragraphs == ("The intro paragraph says what the page is about.", "For every browser.")
