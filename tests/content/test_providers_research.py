"""Research sources: pasted notes, the pages at the brief's URLs, SearXNG and our own posts.

How a page is fetched and which URLs may be are tested in `test_fetcher.py` and
`tests/tasks/test_url_guard.py`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from content.providers import searxng
from content.providers.base import Brief
from content.providers.research import PastedTextSource, UrlSource
from content.providers.searxng import SearxngSource
from publishing.models import Post
from publishing.research import InternalPostsSource
from publishing.search import post_refresh_search_vector
from tasks.exceptions import PermanentError
from tests.content.fake_servers import SearxngServer

BRIEF = Brief(topic="Composting at home", primary_keyword="home compost")


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


# --- Pages at the brief's URLs (fetching itself: tests/content/test_fetcher.py) ---------------------


def test_url_source_quotes_the_passage_most_related_to_the_topic(pages, allow_private):
    brief = Brief(topic="Turning a compost heap", primary_keyword="turning")
    [source] = UrlSource().gather(brief=brief, inputs={"urls": [f"{pages.url}/article"]})
    assert (source.kind, source.number, source.url) == ("web", 0, f"{pages.url}/article")
    assert source.title == "Composting at home: a practical guide"
    assert "Turning the heap every week" in source.quote and len(source.quote) <= 301


def test_missing_page_is_a_permanent_error_naming_the_url(pages, allow_private):
    with pytest.raises(PermanentError, match=r"/missing answered HTTP 404"):
        gather_urls(f"{pages.url}/article", f"{pages.url}/missing")


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


def test_searxng_results_with_fields_of_the_wrong_type_are_skipped(settings):
    odd = [{"url": "https://example.org/a", "title": "A", "content": {"x": 1}},
           {"url": ["https://example.org/b"], "title": "B"}, {"url": "https://example.org/c", "title": 3}]
    with SearxngServer(results=2, odd_results=odd) as server:
        settings.PRESSROOM_SEARXNG_URL = server.url
        sources = SearxngSource().gather(brief=BRIEF, inputs={})
    assert [source.url for source in sources] == ["https://example.org/result-1", "https://example.org/result-2"]


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
    post = Post.objects.create(slug=slug, title=title, excerpt=excerpt, body=body, published_at=published_at)
    post_refresh_search_vector(post)  # as the publishing services do on every save
    return post


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
