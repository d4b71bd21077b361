"""Full-text search of the public blog: the page, the API, and the vector kept current."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from content.services.review import task_approve, task_edit_draft
from publishing.models import Category, Post, Tag
from publishing.search import (
    CONFIG, MAX_QUERY_LENGTH, SENTENCE_MARK, clean_query, post_refresh_search_vector, search_posts, suggest_titles,
)
from publishing.services.posts import task_publish, task_unpublish
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db


def _post(slug, *, title="", body="", excerpt="", published=True, tags=(), **fields) -> Post:
    at = fields.pop("published_at", timezone.now() - timedelta(hours=1) if published else None)
    post = Post.objects.create(slug=slug, title=title or slug.replace("-", " ").title(), body=body,
                               excerpt=excerpt, published_at=at, **fields)
    for name in tags:
        post.tags.add(Tag.objects.get_or_create(name=name, slug=name)[0])
    post_refresh_search_vector(post)
    return post


def slugs(query, **filters) -> list[str]:
    return [post.slug for post in search_posts(query, **filters)]


@pytest.fixture
def blog():
    garden = Category.objects.create(name="Gardening", slug="gardening")
    _post("composting", title="Composting at home", body="Kitchen scraps turn into rich soil over a few months.",
          category=garden, tags=["soil"])
    _post("worms", title="Worm farms", body="Red wigglers eat scraps quickly. Composting with worms is fast.",
          published_at=timezone.now() - timedelta(days=3))
    _post("bread", title="Sourdough bread", body="A starter needs flour and water every day.",
          excerpt="Baking with wild yeast.")
    return garden


def test_finds_by_title_word_and_body_word(blog):
    assert slugs("sourdough") == ["bread"]
    assert slugs("wigglers") == ["worms"]
    assert slugs("yeast") == ["bread"]  # the excerpt
    assert slugs("soil") == ["composting"]  # body and tag


def test_quoted_phrase(blog):
    assert slugs('"rich soil"') == ["composting"]
    assert slugs('"soil rich"') == []


def test_prefix_of_the_last_word(blog):
    assert set(slugs("compo")) == {"composting", "worms"}
    assert slugs("kitchen ric") == ["composting"]
    assert slugs("sourd") == ["bread"]


def test_exclusion_and_or(blog):
    assert slugs("composting -worms") == ["composting"]
    assert set(slugs("sourdough or wigglers")) == {"bread", "worms"}


def test_a_title_match_ranks_above_a_body_only_match(blog):
    assert slugs("composting") == ["composting", "worms"]
    assert slugs("composting", order="date") == ["composting", "worms"]


def test_filters_by_category_tag_and_dates(blog):
    assert slugs("composting", category="gardening") == ["composting"]
    assert slugs("scraps", tag="soil") == ["composting"]
    today = timezone.localdate()
    assert slugs("scraps", date_to=today - timedelta(days=2)) == ["worms"]
    # The day the post went out (an hour ago: yesterday between midnight and one).
    composting_day = timezone.localdate(Post.objects.get(slug="composting").published_at)
    assert slugs("scraps", date_from=composting_day) == ["composting"]


def test_headline_marks_matches_and_escapes_the_post_text(client):
    _post("html", title="Markup", body='Beware <script>alert("x")</script> & enjoy the <b>tomatoes</b> '
          "with &lt;mark&gt; text")
    html = client.get("/search/", {"q": "tomatoes"}).content.decode()
    main = html.split("<main", 1)[1]
    assert "<mark>tomatoes</mark>" in main
    # Raw HTML's tags are not the post's readable text (`Post.body_text`): the snippet leaves them
    # out, and the script's text with them; text that reads like a tag is escaped.
    assert "<script>" not in main and "<b>" not in main and "alert" not in main and "&lt;script&gt;" not in main
    assert "&lt;mark&gt; text" in main and "&amp;" in main
    assert main.count("<mark>") == main.count("</mark>") == 1
    api = client.get("/api/posts/search", {"q": "tomatoes"}).json()
    assert api["count"] == 1
    assert "<mark>tomatoes</mark>" in api["results"][0]["headline"] and "<script" not in api["results"][0]["headline"]


def test_headline_shows_text_without_markdown_syntax(client):
    _post("markdown", title="Markdown", body="# Growing leeks\n\n**Leeks** like _deep_ soil, see "
          "[the guide](https://example.com/leeks) and `notes`.")
    headline = client.get("/api/posts/search", {"q": "leeks"}).json()["results"][0]["headline"]
    assert "<mark>Leeks</mark> like deep soil, see the guide" in headline
    assert not any(mark in headline for mark in ("#", "**", "_", "](", "example.com", "`"))


def test_drafts_scheduled_and_unpublished_posts_are_never_found(client):
    _post("draft", title="Secret draft zucchini", published=False)
    _post("scheduled", title="Scheduled zucchini", published_at=timezone.now() + timedelta(days=1))
    assert slugs("zucchini") == [] and suggest_titles("zucchini") == []
    html = client.get("/search/", {"q": "zucchini"}).content.decode()
    assert "0 results" in html and "/posts/draft/" not in html and "/posts/scheduled/" not in html
    assert client.get("/api/posts/search", {"q": "zucchini"}).json() == {"count": 0, "results": []}


def _published(editor, reviewer, title: str):
    """A post published from an approved task, through the editorial services."""
    task = completed_task(created_by=editor, title=title)
    task_approve(task=task, by=reviewer)
    task.refresh_from_db()
    return task, task_publish(task=task, by=reviewer)


def _republish_retitled(task, editor, reviewer, title: str) -> None:
    """The editor retitles the published task's draft; the reviewer approves and republishes it."""
    task_edit_draft(task=task, by=editor, title=title)
    task.refresh_from_db()
    task_approve(task=task, by=reviewer)
    task.refresh_from_db()
    task_publish(task=task, by=reviewer)


def test_vector_follows_republish_and_unpublish(editor, reviewer):
    task, post = _published(editor, reviewer, "Vermicomposting basics")
    assert slugs("vermicomposting") == [post.slug]
    assert slugs("compost") == [post.slug]  # a tag
    _republish_retitled(task, editor, reviewer, "Bokashi fermentation")
    assert slugs("bokashi") == [post.slug]
    assert slugs("vermicomposting") == []
    task_unpublish(task=task, by=reviewer)
    assert slugs("bokashi") == []


@pytest.mark.parametrize("with_pg_trgm", [True, False])
def test_suggests_titles_for_a_misspelling(blog, client, monkeypatch, with_pg_trgm):
    import publishing.search

    if with_pg_trgm and not publishing.search.trigram_available():
        pytest.skip("this PostgreSQL has no pg_trgm (the embedded server); the Python fallback is tested")
    monkeypatch.setattr(publishing.search, "trigram_available", lambda: with_pg_trgm)
    assert slugs("sourdugh") == []
    assert [post.slug for post in suggest_titles("sourdugh bred")] == ["bread"]
    html = client.get("/search/", {"q": "sourdugh bred"}).content.decode()
    assert "Did you mean" in html and 'href="/posts/bread/"' in html


def test_search_page_shows_results_and_paginates(client):
    for n in range(12):
        _post(f"tomato-{n}", title=f"Tomato {n}", body="Tomatoes everywhere.")
    first = client.get("/search/", {"q": "tomato", "sort": "date"})
    assert first.status_code == 200
    html = first.content.decode()
    assert "12 results" in html and html.count("<article>") == 10 and "page=2" in html
    assert client.get("/search/", {"q": "tomato", "page": "2"}).content.decode().count("<article>") == 2
    api = client.get("/api/posts/search", {"q": "tomato", "page": "2"}).json()
    assert api["count"] == 12 and len(api["results"]) == 2
    assert set(api["results"][0]) == {"id", "slug", "title", "excerpt", "headline", "rank", "published_at", "url"}


def test_search_page_links_lead_to_canonical_addresses(client):
    for n in range(12):
        _post(f"tomato-{n}", title=f"Tomato {n}", body="Tomatoes everywhere.")
    second = client.get("/search/", {"q": "tomato", "sort": "date", "page": "2"})
    assert second.status_code == 200
    assert '<a href="?q=tomato&amp;sort=date">Previous</a>' in second.content.decode()
    assert client.get("/search/?q=tomato&sort=date").status_code == 200


def test_empty_query_shows_the_form(client):
    response = client.get("/search/")
    assert response.status_code == 200 and 'name="q"' in response.content.decode()
    assert client.get("/api/posts/search").json() == {"count": 0, "results": []}


HOSTILE = [
    "", " ", '"', '""', '"unclosed phrase', "'", "&", "|", "!", ":*", "a & b | !c", "compo:*", "foo:* & bar",
    "!!!", "(((", ")", "-", "--", "-\"x\"", "or", "or or", "a or", "<->", "a <-> b", "\\", "%", "_", "*",
    "'; DROP TABLE publishing_post; --", "1' OR '1'='1", "SELECT * FROM auth_user", "\x00", "com\x00post",
    "\x01\x02\x1f", "é", "naïve café", "日本語", "🙂", "compo🙂", "🙂 compo", "Ω≈ç√", "\u200b", "\ufeff",
    "a" * 200, "word " * 40, "ＡＢＣ", "x²", "١٢٣",
    "-" * 33, "- " * 40, "compost " + "-" * 100, "compost\n\n---\n\n" + "-" * 80, "-(-!-" * 20, "-|-&-:" * 30,
    "-- " * 60 + "compost", '-"' * 80, "ab-" * 66,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_answer_200(blog, client, query):
    page = client.get("/search/", {"q": query, "page": "2"}, follow=True)  # no page 2: the last page
    assert page.status_code == 200 and len(page.redirect_chain) <= 1
    api = client.get("/api/posts/search", {"q": query})
    assert api.status_code == 200 and set(api.json()) == {"count", "results"}


@pytest.mark.parametrize("params", [
    {"q": "scraps", "from": "not-a-date", "to": "2024-13-45"}, {"q": "scraps", "from": "0001-01-01"},
    {"q": "scraps", "page": "-1"}, {"q": "scraps", "page": "abc"}, {"q": "scraps", "page": "9" * 40},
    {"q": "scraps", "sort": "'; drop"}, {"q": "scraps", "category": "<script>"}, {"q": "scraps", "tag": "\x00"},
])
def test_bad_filters_and_pages_answer_200(blog, client, params):
    page = client.get("/search/", params, follow=True)  # a bad page: redirected to the first
    assert page.status_code == 200 and len(page.redirect_chain) <= 1
    assert client.get("/api/posts/search", params).status_code == 200


def test_over_200_characters_answers_400(blog, client):
    page = client.get("/search/", {"q": "a" * 201})
    assert page.status_code == 400
    assert "too long" in page.content.decode() and "<form" in page.content.decode()
    api = client.get("/api/posts/search", {"q": "a" * 201})
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "query_too_long"
    assert client.get("/search/", {"q": "a" * 200}).status_code == 200


# --- very common words: bounded ranking -------------------------------------------------------
@pytest.fixture
def bounded(monkeypatch):
    """Every query takes the path of a very common word (the planner expects a million matches, over
    the limit of 5): its ranking is bounded to the best two head (title, excerpt, tags) matches and
    the matches among the three newest posts."""
    import publishing.search

    monkeypatch.setattr(publishing.search, "estimated_matches", lambda posts: 10**6)
    monkeypatch.setattr(publishing.search, "EXACT_RANKING_LIMIT", 5)
    monkeypatch.setattr(publishing.search, "HEAD_CANDIDATES", 2)
    monkeypatch.setattr(publishing.search, "RECENT_WINDOW", 3)


def _common_word_blog():
    now = timezone.now()
    _post("old-title", title="Tomato harvest", body="Plain words.", published_at=now - timedelta(days=30))
    _post("old-tag", title="Late summer", body="Plain words.", tags=["tomato"], published_at=now - timedelta(days=29))
    _post("old-body", title="Old body", body="A tomato grows.", published_at=now - timedelta(days=28))
    for n in range(4):
        _post(f"new-body-{n}", title=f"New body {n}", body="Tomatoes grow here.",
              published_at=now - timedelta(hours=n + 1))


def test_a_very_common_word_still_ranks_title_matches_first(bounded):
    _common_word_blog()
    results = search_posts("tomato")
    found = [post.slug for post in results]
    assert found[:2] == ["old-title", "old-tag"]  # head matches, older than the recent window
    assert set(found[2:]) == {"new-body-0", "new-body-1", "new-body-2"}  # the newest three body matches
    assert "old-body" not in found and "new-body-3" not in found  # body-only matches outside the window
    assert not results.complete
    assert all(post.headline is not None and post.rank > 0 for post in results)


def test_bounded_ranking_keeps_exclusion_and_phrases(bounded):
    _common_word_blog()
    assert "old-title" not in slugs("tomato -harvest")
    assert slugs('"tomato harvest"') == ["old-title"]


def test_a_very_common_word_in_date_order_reads_newest_first(bounded):
    _common_word_blog()
    results = search_posts("tomato", order="date")
    assert [post.slug for post in results] == ["new-body-0", "new-body-1", "new-body-2", "new-body-3", "old-body"]
    assert results.count() == 5 and not results.complete  # counted up to the limit only


def test_the_page_says_when_results_are_bounded(bounded, client):
    _common_word_blog()
    html = client.get("/search/", {"q": "tomato"}).content.decode()
    assert "Many posts match" in html and "results for" not in html and html.count("<article>") == 5
    assert html.index("/posts/old-title/") < html.index("/posts/new-body-0/")
    assert "<mark>" in html


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_answer_200_on_the_bounded_path(bounded, blog, client, query):
    assert client.get("/search/", {"q": query}).status_code == 200
    assert client.get("/api/posts/search", {"q": query}).status_code == 200


def test_the_planner_estimate_decides_the_path(blog, monkeypatch):
    import publishing.search

    seen = []
    real = publishing.search.estimated_matches
    monkeypatch.setattr(publishing.search, "estimated_matches", lambda posts: seen.append(real(posts)) or seen[-1])
    assert search_posts("composting").complete
    assert len(seen) == 1 and seen[0] >= 1


def _head_matches(word) -> list[str]:
    from django.contrib.postgres.search import SearchQuery

    return list(Post.objects.filter(search_head=SearchQuery(word, config="english")).values_list("slug", flat=True))


def test_head_vector_follows_publish_republish_and_tag_changes(editor, reviewer):
    task, post = _published(editor, reviewer, "Vermicomposting basics")
    assert _head_matches("vermicomposting") == [post.slug]
    assert _head_matches("scraps") == [post.slug]  # the excerpt
    assert _head_matches("soil") == [post.slug]  # a tag
    post.tags.add(Tag.objects.create(name="Worms", slug="worms"))
    assert _head_matches("worms") == [post.slug]
    post.tags.remove(Tag.objects.get(slug="worms"))
    assert _head_matches("worms") == []
    _republish_retitled(task, editor, reviewer, "Bokashi fermentation")
    assert _head_matches("bokashi") == [post.slug] and _head_matches("vermicomposting") == []


def test_unpublished_posts_are_not_found_on_the_bounded_path(bounded, editor, reviewer):
    task, post = _published(editor, reviewer, "Vermicomposting basics")
    assert slugs("vermicomposting") == [post.slug]
    task_unpublish(task=task, by=reviewer)
    assert slugs("vermicomposting") == []


def test_headline_shows_the_opening_once_and_not_the_title(client):
    # The format stage's excerpt is the body's first paragraph: the snippet showed it twice, with
    # the body's "# Title" line between ("… storm. Rainwater barrels…small gardens A rainwater …").
    _post("barrels", title="Rain barrels", excerpt="A rainwater barrel collects the water off a roof.",
          body="# Rain barrels\n\nA rainwater barrel collects the water off a roof [1].\n\n## Lids\n\nLids stop "
               "mosquitoes.")
    _post("own-words", title="Soft water", excerpt="Why plants like rainwater best.",
          body="# Soft water\n\nTap water carries chlorine; rainwater does not.")
    results = {r["slug"]: r["headline"] for r in client.get("/api/posts/search", {"q": "rainwater"}).json()["results"]}
    assert results["barrels"].count("<mark>rainwater</mark>") == 1 and "Rain barrels" not in results["barrels"]
    assert "off a roof.\n" in results["barrels"], "no citation"
    assert "Lids.\n\nLids stop mosquitoes" in results["barrels"], "a heading ends before the sentence after it"
    # An excerpt of the editor's own words is not in the body: it stays.
    assert results["own-words"].count("<mark>rainwater</mark>") == 2 and "Soft water" not in results["own-words"]


def test_headline_says_where_it_cuts_into_a_sentence(client):
    # Two fragments were glued ("…within a season. People…compost heap"), a snippet cut off
    # mid-sentence ended as if the sentence did ("…often expect it to be hard"), and one that
    # reached a sentence's end lost its full stop (ts_headline's fragments end on a word).
    filler = "Filler words follow here. " * 40
    _post("cut", title="Worm bins", body="# Worm bins\n\nPeople who try worm bins for the first time often expect "
          f"it to be hard work, messy and slow. {filler}Near the end, the bins need shade in a hot summer.")
    _post("middle", title="Shade", body="# Shade\n\nOne long sentence " + "that runs on and on " * 30
          + "until the barrels stand by a tall hedge of beech and yew " + "and on and on " * 30 + "to its end.")
    search = lambda q: client.get("/api/posts/search", {"q": q}).json()["results"][0]["headline"]  # noqa: E731
    two_ends = search("bins")
    assert two_ends.startswith("People who try worm <mark>bins</mark>")
    assert two_ends.endswith("the <mark>bins</mark> need shade in a hot summer."), "its own full stop, no ellipsis"
    first, last = two_ends.split(" … ")
    assert not last.startswith(("…", " ")) and not first.endswith((" ", "…")), "one delimiter, spaced"
    inside = search("hedge")
    assert inside.startswith("… ") and inside.endswith(" …") and "<mark>hedge</mark>" in inside
    page = client.get("/search/", {"q": "bins"}).content.decode()
    assert "hot summer.</p>" in page and SENTENCE_MARK not in page + two_ends + inside
    marks_searched = search(f"bins or {SENTENCE_MARK}")
    assert SENTENCE_MARK not in marks_searched and "<mark></mark>" not in marks_searched
    assert marks_searched.endswith("."), marks_searched


def test_headline_marks_a_word_deep_in_a_long_body(client):
    _post("long", title="Long read", body="Filler words here. " * 400 + "Then the zucchini appears.")
    html = client.get("/search/", {"q": "zucchini"}).content.decode()
    assert "<mark>zucchini</mark>" in html


def test_filter_options_escape_names_and_keep_the_selection(client):
    tag = Tag.objects.create(name="<b>bold</b>", slug="bold")
    category = Category.objects.create(name="Fish & chips", slug="fish")
    _post("fried", title="Fried", body="Batter.", category=category).tags.add(tag)
    html = client.get("/search/", {"q": "anything", "tag": "bold"}).content.decode()
    assert '<option value="bold" selected>&lt;b&gt;bold&lt;/b&gt;</option>' in html
    assert '<option value="fish">Fish &amp; chips</option>' in html


@pytest.mark.parametrize("path", ["/search/?q=compost", "/api/posts/search?q=compost"])
def test_a_search_is_planned_for_its_words(client, blog, path):
    """Prepared, the search's statements got generic plans after five runs: at 20,000 posts the
    page's median for a word in every post went from 29 to 46 ms. They are planned each time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200

    statements = [query["sql"] for query in captured.captured_queries]
    setting = next(n for n, sql in enumerate(statements) if "set_config('plan_cache_mode'" in sql)
    assert any("search_vector" in sql for sql in statements[setting + 1:])


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("compost -worms", "compost -worms"), ("compost --worms", "compost -worms"), ('-"red worms"', '-"red worms"'),
    ("well-known bins", "well-known bins"), ("compost - worms", "compost worms"), ("compost -", "compost"),
    ("-" * 40, ""), ("- - - worms", "worms"), ("-(-!-x", "( !-x"),
])
def test_a_minus_stays_only_where_it_negates_a_word_or_phrase(raw, cleaned):
    assert clean_query(raw) == cleaned


@pytest.mark.django_db
def test_no_cleaned_query_overflows_postgresqls_query_parser():
    """Runs of minus signs (alone, spaced, between punctuation) of every length up to the limit:
    PostgreSQL parses each cleaned query (before: "tsquery stack too small" past 32)."""
    rng = random.Random(13)
    units = ["-", "- ", "-(", "-!", '-"', '"-', "-- ", "-'", "-|", "-&", "-:", "(-", "-_", "or -", "-x "]
    queries = [(unit * n)[:MAX_QUERY_LENGTH] for unit in units for n in (16, 33, 100)]
    for _ in range(300):
        queries.append("".join(rng.choice(units) * rng.randint(1, 40) for _ in range(6))[:MAX_QUERY_LENGTH])
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute("SELECT websearch_to_tsquery(%s::regconfig, %s)", [CONFIG, clean_query(query)])


def test_the_filters_name_only_what_published_posts_use(client, editor, reviewer):
    """A category or tag only a scheduled, draft or unpublished post uses stays private, as its
    archive (404) and the sitemap keep it (found in a review: the filters listed every name)."""
    _post("public", title="Something public", body="Text.", tags=["soil"])
    task = completed_task(created_by=editor, category="Mergers", tags=["Acme takeover"])
    task_approve(task=task, by=reviewer)
    task_publish(task=task, by=reviewer, at=timezone.now() + timedelta(days=3))
    _post("draft", title="Draft", body="Text.", published_at=None, tags=["Embargoed"])

    assert client.get("/tag/acme-takeover/").status_code == 404
    page = client.get("/search/").content.decode()
    assert '<option value="soil">soil</option>' in page
    assert [name for name in ("Acme takeover", "Mergers", "Embargoed") if name in page] == []


def test_deleting_a_tag_takes_its_name_out_of_its_posts_search(blog):
    """Deleting a tag removes its links without an m2m signal; the posts' vectors kept its name
    (found in a review)."""
    Post.objects.get(slug="worms").tags.add(Tag.objects.create(name="Zanzibar", slug="zanzibar"))
    assert slugs("zanzibar") == ["worms"]
    Tag.objects.get(name="Zanzibar").delete()
    assert slugs("zanzibar") == []



WATER_BUTTS = """Water butts
===========

A water butt saves rain for dry weeks.

### Sizes

| Size | Litres |
|------|--------|
| Small butt | 100 |

> A butt fills fast in spring.

- Clean the butt yearly.
- Keep a lid on.

```
butt --drain
```

<div class="note">A <em>butt</em> needs a tap.</div>

## Why a butt?

Plants prefer rainwater.
"""


def test_headline_shows_no_markdown_of_tables_quotes_lists_code_or_html(client):
    # Snippets were cut from the Markdown with regular expressions: "| Small butt | 100 |",
    # "|------|", "> A butt", "- Clean", "<div class=…>" and the code showed.
    _post("butts", title="Water butts", body=WATER_BUTTS)
    _post("rainfall", title="Rainfall", body="# Rainfall\n\n| Month | Rain |\n|-------|------|\n| June | 40 mm |\n\n"
          "> Drizzle counts too.\n\n- Measure at dawn.\n- Write it down.\n")
    search = lambda q: client.get("/api/posts/search", {"q": q}).json()["results"][0]["headline"]  # noqa: E731
    assert search("drizzle") == "Month\n\nRain\n\nJune\n\n40 mm\n\n<mark>Drizzle</mark> counts too.\n\nMeasure at dawn.\n\nWrite it down."
    butts = search("butt")
    assert "<mark>butt</mark> fills fast" in butts and "Small <mark>butt</mark>" in butts
    assert "A <mark>butt</mark> needs a tap." in butts, "the text of raw HTML, without its tags"
    assert not [syntax for syntax in ("|", "---", "&gt;", "- ", "```", "--drain", "&lt;", "class=", "<em>", "#", "===")
                if syntax in butts]


def test_headline_leaves_out_the_title_however_it_is_written(client):
    # The body's own title line was left out only when written `# Title`: an underlined one stayed,
    # with its underline ("Water butts ===========").
    _post("butts", title="Water butts", body=WATER_BUTTS)
    headline = client.get("/api/posts/search", {"q": "butts"}).json()["results"][0]["headline"]
    assert "<mark>" in headline and "Water" not in headline and "=" not in headline


def test_headline_ends_each_heading_with_a_full_stop(client):
    _post("butts", title="Water butts", body=WATER_BUTTS)
    headline = client.get("/api/posts/search", {"q": "sizes or rainwater"}).json()["results"][0]["headline"]
    assert "<mark>Sizes</mark>.\n\n<mark>Size</mark>" in headline, "any level of heading"
    assert "Why a butt?\n\nPlants prefer <mark>rainwater</mark>." in headline, "its own question mark, no full stop"


def test_the_words_of_a_private_note_listed_in_sources_never_find_the_post(editor, reviewer):
    """The writer cited the editor's pasted notes; the format stage listed them in the body's
    Sources section, which the page leaves out. Searching their title's words must not reveal that
    the post drew on them."""
    from dataclasses import asdict

    from content.formatting import format_article
    from content.providers.base import Source
    from content.services.versions import version_create

    sources = [Source(1, "Quibbleton interview transcript", quote="Off the record.", kind="pasted"),
               Source(2, "A practical guide", url="https://example.org/guide")]
    task = completed_task(created_by=editor, title="Rain barrels")
    formatted = format_article("# Rain barrels\n\nBarrels need lids [1]. Clean them yearly [2].",
                               fallback_title="x", sources=sources)
    assert "Quibbleton" in formatted.body  # listed in the body's Sources section
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, seo=formatted.seo(), sources=[asdict(s) for s in sources])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    assert slugs("lids") == [post.slug]
    assert slugs("quibbleton") == []
    assert slugs("transcript") == []
