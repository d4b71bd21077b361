"""Research sources: pasted notes, fetched pages (with their guards), SearXNG and our own posts."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from content.providers import research, searxng
from content.providers.base import Brief
from content.providers.research import PastedTextSource, UrlSource, fetch_page, validate_research_url
from content.providers.searxng import SearxngSource
from publishing.models import Post
from publishing.research import InternalPostsSource
from tasks.exceptions import PermanentError, TransientError
from tests.content.fake_servers import Page, PageServer, SearxngServer

BRIEF = Brief(topic="Composting at home", primary_keyword="home compost")


@pytest.fixture
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture
def allow_private(settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True


@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """The test server lives on 127.0.0.1; let that one address pass while every other local or
    private address is still refused, so the checks after the first hop can be tested."""
    real = research.is_public_address
    monkeypatch.setattr(
        research, "is_public_address", lambda address: address == ipaddress.ip_address("127.0.0.1") or real(address)
    )


def gather_urls(*urls):
    return UrlSource().gather(brief=BRIEF, inputs={"urls": list(urls)})


# --- Pasted notes ---------------------------------------------------------------------------------


def test_pasted_notes_are_one_source_quoting_their_start():
    text = "Greens bring nitrogen. " * 30
    [source] = PastedTextSource().gather(brief=BRIEF, inputs={"text": text})
    assert (source.kind, source.title, source.number, source.url) == ("pasted", "Editor's notes", 0, "")
    assert source.quote.startswith("Greens bring nitrogen.") and len(source.quote) <= 301


def test_pasted_blocks_headed_by_a_source_line_or_url_are_sources_of_their_own():
    text = (
        "My own notes on heaps.\n\n"
        "Source: Garden Weekly https://example.org/compost\nTurn the heap weekly.\n\n"
        "More from that article.\n\n"
        "https://example.net/worms\nWorms do the work."
    )
    notes, weekly, worms = PastedTextSource().gather(brief=BRIEF, inputs={"text": text})
    assert (notes.title, notes.quote) == ("Editor's notes", "My own notes on heaps.")
    assert (weekly.title, weekly.url) == ("Garden Weekly", "https://example.org/compost")
    assert weekly.quote == "Turn the heap weekly. More from that article."
    assert (worms.title, worms.url, worms.quote) == ("example.net", "https://example.net/worms", "Worms do the work.")


def test_no_pasted_text_gives_no_source():
    assert PastedTextSource().gather(brief=BRIEF, inputs={"text": "  \n"}) == []
    assert PastedTextSource().gather(brief=BRIEF, inputs={}) == []


# --- Fetching pages -------------------------------------------------------------------------------


def test_article_text_is_extracted_without_page_noise(pages, allow_private):
    page = fetch_page(f"{pages.url}/article")
    assert page.title == "Composting at home: a practical guide"
    assert "greens and browns" in page.text and "smells of earth" in page.text
    noises = ("SCRIPT-NOISE", "NAV-NOISE", "ASIDE-NOISE", "FORM-NOISE", "FOOTER-NOISE", "NOSCRIPT-NOISE", "font-family")
    for noise in noises:
        assert noise not in page.text
    assert "Garden Weekly" not in page.text  # the site header, outside the article


def test_url_source_quotes_the_passage_most_related_to_the_topic(pages, allow_private):
    brief = Brief(topic="Turning a compost heap", primary_keyword="turning")
    [source] = UrlSource().gather(brief=brief, inputs={"urls": [f"{pages.url}/article"]})
    assert (source.kind, source.number, source.url) == ("web", 0, f"{pages.url}/article")
    assert source.title == "Composting at home: a practical guide"
    assert "Turning the heap every week" in source.quote and len(source.quote) <= 301


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


def test_content_that_is_not_a_web_page_is_refused(pages, allow_private):
    with pytest.raises(PermanentError, match="application/octet-stream, not a web page"):
        gather_urls(f"{pages.url}/binary")


def test_a_page_is_read_only_up_to_the_size_cap(pages, allow_private, settings):
    settings.PRESSROOM_FETCH_MAX_BYTES = 50_000
    started = time.monotonic()
    page = fetch_page(f"{pages.url}/huge")
    assert time.monotonic() - started < 5
    assert page.truncated
    assert 40_000 < len(page.text) <= 50_000
    assert "NEEDLE" not in page.text
    [source] = gather_urls(f"{pages.url}/huge")
    assert "NEEDLE" not in source.quote


def test_missing_page_is_a_permanent_error_naming_the_url(pages, allow_private):
    with pytest.raises(PermanentError, match=r"/missing answered HTTP 404"):
        gather_urls(f"{pages.url}/article", f"{pages.url}/missing")


def test_server_errors_and_unreachable_hosts_are_transient(pages, allow_private):
    pages.add("/busy", Page(503, "busy", headers={"Retry-After": "7"}))
    with pytest.raises(TransientError) as caught:
        gather_urls(f"{pages.url}/busy")
    assert caught.value.retry_after == 7
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="Could not reach"):
        gather_urls(f"http://127.0.0.1:{closed_port}/")


def test_slow_page_times_out_as_transient(pages, allow_private, settings, monkeypatch):
    settings.PRESSROOM_FETCH_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(pages, "handle", lambda exchange: exchange.wait(5))
    started = time.monotonic()
    with pytest.raises(TransientError, match="did not answer in time"):
        gather_urls(f"{pages.url}/article")
    assert time.monotonic() - started < 3


REFUSED = [
    ("http://127.0.0.1/", "local or private address"),
    ("http://localhost:8000/admin/", "local or private address"),
    ("http://api.localhost/", "local or private address"),
    ("http://10.1.2.3/", "local or private address"),
    ("http://192.168.0.1/", "local or private address"),
    ("http://169.254.169.254/latest/meta-data/", "local or private address"),
    ("http://[::1]/", "local or private address"),
    ("http://[::ffff:127.0.0.1]/", "local or private address"),
    ("http://[fe80::1]/", "local or private address"),
    ("http://0.0.0.0/", "local or private address"),
    ("http://2130706433/", "local or private address"),
    ("http://224.0.0.1/", "local or private address"),
    ("file:///etc/passwd", "only http and https URLs are allowed"),
    ("ftp://example.com/notes.txt", "only http and https URLs are allowed"),
    ("javascript:alert(1)", "only http and https URLs are allowed"),
    ("https:///no-host", "names no host"),
]


@pytest.mark.parametrize("url, reason", REFUSED)
def test_unsafe_urls_are_refused_with_a_clear_reason(url, reason, monkeypatch):
    def no_dns(*args, **kwargs):
        raise AssertionError("a refused URL must not be resolved")

    monkeypatch.setattr(research.socket, "getaddrinfo", no_dns)
    with pytest.raises(ValidationError) as caught:
        validate_research_url(url)
    assert reason in caught.value.messages[0]
    with pytest.raises(PermanentError, match=reason):
        gather_urls(url)


def test_public_urls_pass_validation():
    assert validate_research_url("  https://example.org/compost?x=1 ") == "https://example.org/compost?x=1"
    assert validate_research_url("http://[2606:4700::1111]/") == "http://[2606:4700::1111]/"


def test_private_literals_pass_validation_when_allowed(allow_private):
    assert validate_research_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/"


@pytest.mark.parametrize("answer", ["10.0.0.5", "::ffff:192.168.1.1", "fd00::1"])
def test_host_names_resolving_to_private_addresses_are_refused(answer, monkeypatch):
    family = socket.AF_INET6 if ":" in answer else socket.AF_INET
    monkeypatch.setattr(
        research.socket, "getaddrinfo",
        lambda host, port, **kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                                      (family, socket.SOCK_STREAM, 6, "", (answer, port))],
    )
    shown = re.escape(f"({ipaddress.ip_address(answer)})")
    with pytest.raises(PermanentError, match=f"resolves to a local or private address {shown}"):
        gather_urls("https://intranet.example.com/wiki")


def test_loopback_is_refused_by_default_even_for_the_test_server(pages):
    with pytest.raises(PermanentError, match="local or private address"):
        gather_urls(f"{pages.url}/article")
    assert pages.requests == []


def test_redirect_to_a_private_address_is_refused(pages, loopback_counts_as_public):
    assert fetch_page(f"{pages.url}/article").title  # the first hop itself is allowed
    with pytest.raises(PermanentError, match=r"Refusing http://169\.254\.169\.254/latest/meta-data/"):
        fetch_page(f"{pages.url}/redirect-metadata")


def test_redirect_to_localhost_by_name_is_refused(pages, loopback_counts_as_public):
    pages.add("/to-localhost", Page(301, headers={"Location": f"http://localhost:{pages.port}/article"}))
    with pytest.raises(PermanentError, match="Refusing http://localhost"):
        fetch_page(f"{pages.url}/to-localhost")
    assert [request.path for request in pages.requests] == ["/to-localhost"]


def test_only_the_first_ten_urls_are_fetched(pages, allow_private):
    urls = [f"{pages.url}/article?copy={index}" for index in range(12)]
    assert len(gather_urls(*urls)) == 10
    assert len(pages.requests) == 10


def test_stop_check_is_honoured_between_urls(pages, allow_private):
    class Stop(Exception):
        pass

    calls = []

    def stop():
        calls.append(1)
        if len(calls) > 3:
            raise Stop

    with pytest.raises(Stop):
        UrlSource().gather(brief=BRIEF, inputs={"urls": [f"{pages.url}/article", f"{pages.url}/plain"]}, stop=stop)
    assert len(pages.requests) == 1


# --- SearXNG -------------------------------------------------------------------------------------


def test_searxng_is_off_without_a_url_and_makes_no_request(settings, monkeypatch):
    settings.PRESSROOM_SEARXNG_URL = ""

    def no_client(**kwargs):
        raise AssertionError("no HTTP client may be made when SearXNG is off")

    monkeypatch.setattr(searxng.http, "client", no_client)
    assert SearxngSource().gather(brief=BRIEF, inputs={}) == []


def test_searxng_results_become_search_sources(settings):
    with SearxngServer(results=7) as server:
        settings.PRESSROOM_SEARXNG_URL = server.url + "/"
        sources = SearxngSource().gather(brief=BRIEF, inputs={})
    [request] = server.requests
    assert request.query == {"q": ["Composting at home home compost"], "format": ["json"]}
    assert len(sources) == 5
    first = sources[0]
    assert (first.kind, first.number, first.url) == ("search", 0, "https://example.org/result-1")
    assert first.title == "Result 1 about Composting at home home compost"
    assert first.quote.startswith("Snippet 1:") and len(first.quote) <= 301


def test_searxng_without_json_format_explains_the_fix(settings):
    with SearxngServer() as server:
        settings.PRESSROOM_SEARXNG_URL = server.url
        server.handle = lambda exchange: exchange.respond(403, "Forbidden")
        with pytest.raises(PermanentError, match="enable the json format"):
            SearxngSource().gather(brief=BRIEF, inputs={})


# --- Our own posts -------------------------------------------------------------------------------


def make_post(slug: str, title: str, *, excerpt: str = "", body: str = "", published: bool | None = True) -> Post:
    now = timezone.now()
    published_at = {True: now - timedelta(days=1), False: None, None: now + timedelta(days=3)}[published]
    return Post.objects.create(slug=slug, title=title, excerpt=excerpt, body=body, published_at=published_at)


@pytest.mark.django_db
def test_internal_posts_finds_related_published_posts_only():
    related = make_post(
        "compost-guide", "A beginner's compost guide", excerpt="How to start a compost heap in a small garden.",
        body="Composting turns scraps into soil. Turn the heap weekly.",
    )
    make_post("compost-draft", "Composting at home, the draft", body="Composting at home.", published=False)
    make_post("compost-scheduled", "Composting at home next week", body="Composting at home.", published=None)
    make_post("sourdough", "Baking sourdough bread", excerpt="Flour, water, salt.", body="Knead the dough at home.")
    [source] = InternalPostsSource().gather(brief=BRIEF, inputs={})
    assert (source.kind, source.number, source.title) == ("internal", 0, related.title)
    assert source.url == related.get_absolute_url() == "/posts/compost-guide/"
    assert source.quote == "How to start a compost heap in a small garden."


@pytest.mark.django_db
def test_internal_posts_returns_the_three_most_related():
    for index in range(5):
        make_post(f"compost-{index}", f"Compost tip {index}", body="Composting at home. " * (index + 1))
    sources = InternalPostsSource().gather(brief=BRIEF, inputs={})
    assert len(sources) == 3
    assert all(source.title.startswith("Compost tip") for source in sources)


@pytest.mark.django_db
def test_internal_posts_finds_nothing_for_an_unrelated_topic():
    make_post("sourdough", "Baking sourdough bread", body="Knead the dough.")
    assert InternalPostsSource().gather(brief=BRIEF, inputs={}) == []
