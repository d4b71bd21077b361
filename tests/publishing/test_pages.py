"""The public blog's pages: home, post, category and tag archives, 404 and 500, read as the server
renders them. Visibility (only `published_at <= now`), one title per post page, public sources
only, the provenance note, the `<head>` metadata, hostile page numbers and query budgets."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.template.loader import get_template
from django.utils import timezone

from content.formatting import format_article
from content.providers.base import Source
from content.services.review import task_approve, task_edit_draft, task_restore_version
from content.services.versions import version_create
from publishing.models import Category, Post, Tag
from publishing.search import post_refresh_search_vector
from publishing.services.posts import task_publish, task_unpublish
from tests.content.test_pipeline import pipeline  # noqa: F401 (the fixture: the real content pipeline)
from tasks.models import GenerationTask
from tests.editorial import completed_task
from tests.factories import make_task

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG fake image"
NOW = timezone.now


def _post(slug: str, *, ago: timedelta | None = timedelta(hours=1), tags=(), **fields) -> Post:
    """A hand-written post published `ago` before now (None: a draft; negative: scheduled)."""
    fields.setdefault("title", slug.replace("-", " ").title())
    published_at = None if ago is None else timezone.now() - ago
    post = Post.objects.create(slug=slug, published_at=published_at, **fields)
    post.tags.set(tags)
    post_refresh_search_vector(post)
    return post


class _Tags(HTMLParser):
    """Start tags with their attributes, and the text inside <script type=application/ld+json>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.json_ld: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._in_json = tag == "script" and attributes.get("type") == "application/ld+json"

    def handle_endtag(self, tag):
        self._in_json = False

    def handle_data(self, data):
        if self._in_json:
            self.json_ld.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def meta(html: str, key: str) -> str | None:
    for tag, attrs in parse(html).tags:
        if tag == "meta" and key in (attrs.get("property"), attrs.get("name")):
            return attrs.get("content")
    return None


def link(html: str, rel: str) -> list[dict]:
    return [attrs for tag, attrs in parse(html).tags if tag == "link" and attrs.get("rel") == rel]


def main(html: str) -> str:
    return html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def garden():
    """Published posts in a category with tags, plus a draft, a scheduled and an unpublished one
    that share everything with them."""
    category = Category.objects.create(name="Gardening", slug="gardening")
    compost, soil = Tag.objects.create(name="compost", slug="compost"), Tag.objects.create(name="soil", slug="soil")
    return {
        "category": category, "compost": compost, "soil": soil,
        "oldest": _post("worm-bins", ago=timedelta(days=3), category=category, tags=[compost],
                        title="Worm bins for compost", excerpt="Worms eat scraps."),
        "middle": _post("compost-basics", ago=timedelta(days=2), category=category, tags=[compost, soil],
                        title="Compost basics", excerpt="Greens and browns.", body="Compost turns scraps into soil."),
        "newest": _post("soil-health", ago=timedelta(days=1), category=category, tags=[compost, soil],
                        title="Soil health and compost", excerpt="Healthy soil."),
        "draft": _post("compost-draft", ago=None, category=category, tags=[compost, soil], title="Compost draft"),
        "scheduled": _post("compost-scheduled", ago=-timedelta(days=1), category=category, tags=[compost, soil],
                           title="Compost scheduled"),
    }


HIDDEN = ("Compost draft", "Compost scheduled")


# --- home --------------------------------------------------------------------------------------------
def test_home_lists_published_posts_newest_first_with_meta_and_links(client, garden):
    html = client.get("/").content.decode()
    body = main(html)
    assert body.index("Soil health and compost") < body.index("Compost basics") < body.index("Worm bins for compost")
    assert 'href="/posts/compost-basics/"' in body and "Greens and browns." in body
    assert 'href="/category/gardening/"' in body and "min read" in body
    assert not any(title in html for title in HIDDEN)


def test_a_card_cuts_a_long_excerpt_at_a_word(client):
    # The cards' four-line clamp alone cut a long excerpt inside a word ("and m…").
    words = [f"word{n}" for n in range(40)]
    _post("long-excerpt", excerpt=" ".join(words))
    body = main(client.get("/").content.decode())
    assert f"{' '.join(words[:24])}…</p>" in body and words[24] not in body


def test_a_card_never_puts_its_ellipsis_after_a_full_stop(client):
    _post("sentence-excerpt", excerpt=" ".join(["word"] * 23) + " people. And then more words follow.")
    body = main(client.get("/").content.decode())
    assert f"{' '.join(['word'] * 23)} people…</p>" in body and "people.…" not in body


def test_home_shows_thumbnails_with_alt_text(client, media):
    post = Post(title="Pictured", slug="pictured", published_at=NOW() - timedelta(hours=1),
                image_alt="A heap of leaves")
    post.thumbnail.save("pictured-thumb.png", ContentFile(PNG), save=False)
    post.save()
    images = [attrs for tag, attrs in parse(client.get("/").content.decode()).tags if tag == "img"]
    assert [(image["src"], image["alt"]) for image in images] == [(post.thumbnail.url, "A heap of leaves")]


def test_every_page_has_a_search_form_in_its_header(client, garden):
    for path in ("/", "/posts/compost-basics/", "/category/gardening/", "/tag/soil/", "/search/?q=soil"):
        header = client.get(path).content.decode().split("<main")[0]
        assert 'action="/search/"' in header and 'name="q"' in header, path


LISTS = ("/", "/category/gardening/", "/tag/compost/")


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "99999999999999999999999999", "\x00", "²", "1e9", "",
                                  "1", "01"])
def test_a_page_number_that_is_not_a_page_redirects_for_good_to_the_first_page(client, garden, page):
    """Found in a review: each junk `?page=` rendered the first page again and kept it in the page
    cache under its own key, so enough of them evicted the real pages."""
    for path in LISTS:
        response = client.get(path, {"page": page})
        assert (response.status_code, response["Location"]) == (301, path), (path, page)
        assert client.get(response["Location"]).status_code == 200


def _pages_of_posts(count: int, **fields) -> None:
    for number in range(count):
        _post(f"post-{number}", ago=timedelta(hours=number + 1), **fields)


def test_a_page_past_the_end_redirects_for_now_to_the_last_page(client):
    _pages_of_posts(12)  # two pages
    for page in ("3", "999999999999"):
        response = client.get("/", {"page": page})
        assert (response.status_code, response["Location"]) == (302, "/?page=2")  # page 3 may come


@pytest.mark.parametrize("query", ["page=02", "page=2&page=2", "page=1&page=2", "page=%202"])
def test_another_spelling_of_a_page_redirects_for_good_to_its_own_address(client, query):
    category = Category.objects.create(name="Gardening", slug="gardening")
    _pages_of_posts(12, category=category)
    for path in ("/", "/category/gardening/"):
        response = client.get(f"{path}?{query}")
        expected = (301, f"{path}?page=2") if query != "page=%202" else (301, path)  # " 2" is junk
        assert (response.status_code, response["Location"]) == expected, (path, query)


def test_a_page_redirect_keeps_the_other_parameters_and_never_names_a_host(client, garden):
    response = client.get("/tag/compost/?utm_source=news&page=abc&utm_source=letter",
                          HTTP_X_FORWARDED_HOST="evil.example")
    assert response.status_code == 301
    assert response["Location"] == "/tag/compost/?utm_source=news&utm_source=letter"


def test_a_page_redirect_of_a_name_in_any_script_is_a_valid_uri(client):
    _post("salad", tags=[Tag.objects.create(name="σαλάτες", slug="σαλάτες")])
    response = client.get("/tag/σαλάτες/", {"page": "x"})
    assert response["Location"] == "/tag/%CF%83%CE%B1%CE%BB%CE%AC%CF%84%CE%B5%CF%82/"
    assert client.get(response["Location"]).status_code == 200


def test_an_archive_without_public_posts_is_a_404_whatever_its_page(client, garden):
    draft_only = Tag.objects.create(name="secret", slug="secret")
    garden["draft"].tags.add(draft_only)
    assert client.get("/tag/secret/", {"page": "abc"}).status_code == 404


def test_the_page_links_lead_to_canonical_addresses(client):
    """Page 2's link back named `?page=1`, which now redirects: every link a list prints must
    answer its page without a detour."""
    _pages_of_posts(25)  # three pages
    links = set()
    for path in ("/", "/?page=2", "/?page=3"):
        links |= {attrs["href"] for tag, attrs in parse(client.get(path).content.decode()).tags
                  if tag == "a" and attrs.get("rel") in ("prev", "next")}
    assert links == {"/", "?page=2", "?page=3"}
    assert all(client.get(f"/{link}" if link.startswith("?") else link).status_code == 200 for link in links)


def test_pages_past_the_first_have_their_own_canonical_url(client, settings):
    for number in range(12):
        _post(f"post-{number}", ago=timedelta(hours=number + 1))
    html = client.get("/", {"page": "2"}).content.decode()
    assert link(html, "canonical")[0]["href"] == "http://testserver/?page=2"
    assert "Post 11" in main(html) and "Post 0" not in main(html)
    assert link(client.get("/").content.decode(), "canonical")[0]["href"] == "http://testserver/"


# --- a post ------------------------------------------------------------------------------------------
def test_post_page_has_one_h1_and_the_body_does_not_repeat_the_title(client):
    _post("one-title", title="One title only", body="# One title only\n\nThe text.\n\n## A section\n\nMore.")
    html = client.get("/posts/one-title/").content.decode()
    assert [tag for tag, _ in parse(html).tags].count("h1") == 1
    assert main(html).count("One title only") == 1


def test_post_page_shows_meta_tags_toc_and_links(client, garden):
    post = garden["middle"]
    post.seo = {"reading_time_minutes": 4, "toc": [{"id": "greens", "title": "Greens", "level": 2},
                                                   {"id": "not-in-body", "title": "Gone", "level": 2}]}
    post.body = "Intro.\n\n## Greens\n\nGrass."
    post.save()
    Post.objects.filter(pk=post.pk).update(body_html=post.body_html.replace("<h2>", '<h2 id="greens">'))
    body = main(client.get("/posts/compost-basics/").content.decode())
    assert "4 min read" in body
    assert 'href="/category/gardening/"' in body
    assert 'href="/tag/compost/"' in body and 'href="/tag/soil/"' in body
    assert 'href="#greens"' in body and "not-in-body" not in body


def test_the_contents_number_the_sections_and_list_each_subsection_under_its_own(client, garden):
    post = garden["middle"]
    post.seo = {"toc": [{"id": "greens", "title": "Greens", "level": 2}, {"id": "grass", "title": "Grass", "level": 3},
                        {"id": "browns", "title": "Browns", "level": 2}]}
    post.body = "Intro.\n\n## Greens\n\nA.\n\n### Grass\n\nB.\n\n## Browns\n\nC."
    post.save()
    Post.objects.filter(pk=post.pk).update(body_html=post.body_html.replace("<h2>Greens", '<h2 id="greens">Greens')
                                           .replace("<h3>", '<h3 id="grass">').replace("<h2>Browns", '<h2 id="browns">Browns'))
    toc = main(client.get("/posts/compost-basics/").content.decode()).split('id="toc-title"', 1)[1].split("</nav>")[0]
    # One numbered list of the two sections; the subsection in a list of its own inside the first.
    assert re.sub(r"\s+", "", toc.split("</h2>", 1)[1]) == (
        '<ol><li><ahref="#greens">Greens</a><ol><li><ahref="#grass">Grass</a></li></ol></li>'
        '<li><ahref="#browns">Browns</a></li></ol>')


def test_the_contents_number_nothing_themselves_when_the_headings_carry_numbers(client, garden):
    post = garden["middle"]
    post.seo = {"toc": [{"id": "1-hours", "title": "1. Hours", "level": 2},
                        {"id": "2-minutes", "title": "2. Minutes", "level": 2}]}
    post.body = "Intro.\n\n## 1. Hours\n\nA.\n\n## 2. Minutes\n\nB."
    post.save()
    Post.objects.filter(pk=post.pk).update(body_html=post.body_html.replace("<h2>1.", '<h2 id="1-hours">1.')
                                           .replace("<h2>2.", '<h2 id="2-minutes">2.'))
    toc = main(client.get("/posts/compost-basics/").content.decode()).split('id="toc-title"', 1)[1].split("</nav>")[0]
    # A list the style sheet shows without numbers of its own: "1. Hours", never "1. 1. Hours".
    assert re.sub(r"\s+", "", toc.split("</h2>", 1)[1]) == (
        '<olclass="toc__by-headings"><li><ahref="#1-hours">1.Hours</a></li><li><ahref="#2-minutes">2.Minutes</a></li></ol>')


def test_related_and_neighbours_show_only_published_posts_shared_tags_first(client, garden):
    _post("unrelated", ago=timedelta(days=5), title="Bicycle repair", excerpt="Chains.")
    html = main(client.get("/posts/compost-basics/").content.decode())
    related = html.split('id="related-title"', 1)[1]
    # soil-health shares two tags, worm-bins one; the draft and the scheduled post share both but are hidden.
    assert related.index("Soil health and compost") < related.index("Worm bins for compost")
    assert "Bicycle repair" not in related
    neighbours = html.split('class="neighbours"', 1)[1].split("</nav>")[0]
    assert 'rel="prev" href="/posts/worm-bins/"' in neighbours and 'rel="next" href="/posts/soil-health/"' in neighbours
    assert not any(title in html for title in HIDDEN)


def test_related_posts_fall_back_to_text_similarity(client):
    _post("tomatoes-in-pots", title="Growing tomatoes in pots", ago=timedelta(days=2))
    _post("tomato-blight", title="Tomato blight and how to stop it", ago=timedelta(days=3))
    _post("bicycles", title="Bicycle chains", ago=timedelta(days=4))
    related = main(client.get("/posts/tomatoes-in-pots/").content.decode()).split('id="related-title"', 1)[1]
    assert "Tomato blight" in related and "Bicycle chains" not in related


def test_related_posts_come_from_the_newest_posts_only(client, monkeypatch):
    from publishing import selectors

    monkeypatch.setattr(selectors, "RELATED_WINDOW", 2)
    _post("tomatoes-in-pots", title="Growing tomatoes in pots", ago=timedelta(days=1))
    _post("bicycles", title="Bicycle chains", ago=timedelta(days=2))
    _post("tomato-soup", title="Tomato soup", ago=timedelta(days=3))
    _post("tomato-blight", title="Tomato blight and how to stop it", ago=timedelta(days=4))
    related = main(client.get("/posts/tomatoes-in-pots/").content.decode()).split('id="related-title"', 1)[1]
    assert "Tomato soup" in related and "Tomato blight" not in related


def test_unpublished_post_leaves_the_home_page_archives_and_neighbours(client, editor, reviewer):
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    _post("neighbour", ago=timedelta(days=1), title="A neighbour")
    assert "Composting at home" in client.get("/").content.decode()
    task_unpublish(task=task, by=reviewer)
    assert client.get(post.get_absolute_url()).status_code == 404
    assert "Composting at home" not in client.get("/").content.decode()
    assert "Composting at home" not in client.get("/posts/neighbour/").content.decode()
    assert client.get(f"/category/{post.category.slug}/").status_code == 404


def test_missing_draft_and_scheduled_posts_answer_the_friendly_404(client, garden):
    for path in ("/posts/nope/", "/posts/compost-draft/", "/posts/compost-scheduled/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "We could not find that page" in response.content.decode()


# --- sources and provenance ------------------------------------------------------------------------
ARTICLE = """# Composting at home

Composting turns kitchen scraps into soil [2]. Our readers' gardens are small [1].

## What goes in

Greens and browns, in roughly equal parts [2].
"""
SOURCES = [Source(1, "Editor's notes", quote="Readers have small gardens.", kind="pasted"),
           Source(2, "Compost guide", url="https://example.org/compost")]


@pytest.fixture
def formatted_post(editor, reviewer):
    """A task whose current version the real format stage made from an article that cites the
    editor's private notes; approved and published."""
    task = completed_task(created_by=editor)
    formatted = format_article(ARTICLE, fallback_title="Composting", sources=SOURCES)
    assert "Editor&#x27;s notes" in formatted.body_html or "Editor's notes" in formatted.body_html  # the risk
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=f"<h1>{formatted.title}</h1>" + formatted.body_html, excerpt=formatted.excerpt,
                   seo=formatted.seo(), sources=[asdict(source) for source in SOURCES])
    task_approve(task=task, by=reviewer)
    return task_publish(task=task, by=reviewer)


def test_sources_list_only_public_sources_never_the_editors_notes(client, formatted_post):
    html = client.get(formatted_post.get_absolute_url()).content.decode()
    assert "Editor" not in html and "small gardens" not in html
    sources = main(html).split('id="sources"', 1)[1]
    assert 'id="source-2"' in sources and 'href="https://example.org/compost"' in sources
    assert 'href="#source-2"' in main(html), "citations link to the listed source"
    assert 'href="#source-1"' not in main(html), "no citation points at the unlisted private notes"
    assert main(html).count(">Sources</h2>") == 1
    assert [tag for tag, _ in parse(html).tags].count("h1") == 1


ARTICLE_WITH_ITS_OWN_SOURCES = """# Composting at home

Composting turns kitchen scraps into soil [2].

## Sources

We read the council's compost guide [2] and asked our readers [1].

## What goes in

Greens and browns, in roughly equal parts [2].
"""


def _publish(editor, reviewer, formatted):
    task = completed_task(created_by=editor)
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, excerpt=formatted.excerpt,
                   seo=formatted.seo(), sources=[asdict(source) for source in SOURCES])
    task_approve(task=task, by=reviewer)
    return task_publish(task=task, by=reviewer)


def _ids_and_contents(html: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Every id on the page, and the table of contents' links as (target, text)."""
    ids = [attrs["id"] for _, attrs in parse(html).tags if "id" in attrs]
    nav = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    return ids, re.findall(r'<a href="#([^"]*)">([^<]*)</a>', nav)


def _heading_text(html: str, anchor: str) -> str:
    return re.search(rf'<h[23] id="{re.escape(anchor)}">(.*?)</h[23]>', html).group(1)


def test_an_articles_own_sources_section_keeps_its_contents_entry_and_ids_stay_unique(client, editor, reviewer):
    """Found in a review: the table of contents dropped every "Sources" entry, the article's own
    section too, and that section's heading was `id="sources"`, as the page's list of sources is:
    two elements with one id, and the contents' "Sources" link landed on the article's section."""
    post = _publish(editor, reviewer, format_article(ARTICLE_WITH_ITS_OWN_SOURCES, fallback_title="x",
                                                     sources=SOURCES))
    html = client.get(post.get_absolute_url()).content.decode()
    ids, contents = _ids_and_contents(html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [text for _, text in contents] == ["Sources", "What goes in", "Sources"]
    (own, _), (_, _), (listed, _) = contents
    body = html.split('<div class="post__body">', 1)[1].split('<section class="sources"', 1)[0]
    assert _heading_text(body, own) == "Sources" and "compost guide" in body.split(f'id="{own}"', 1)[1]
    assert listed == "sources" and _heading_text(html.split('<section class="sources"', 1)[1], listed) == "Sources"
    assert 'href="#source-2"' in body and ids.count("source-2") == 1


def test_a_post_formatted_before_keeps_its_sources_section_and_ids_stay_unique(client, editor, reviewer):
    """A version formatted before the Sources list's anchors were kept for it: the article's own
    heading was `#sources` and the appended one `#sources-2`. Versions are never edited; the post's
    body, derived from it, moves the heading's id."""
    formatted = format_article(ARTICLE_WITH_ITS_OWN_SOURCES, fallback_title="x", sources=SOURCES)
    as_before = iter(["sources", "sources-2"])  # the article's own heading first, then the appended one
    old_html = re.sub(r'<h2 id="[^"]*">Sources</h2>', lambda _: f'<h2 id="{next(as_before)}">Sources</h2>',
                      formatted.body_html)
    old_toc = [entry for entry in formatted.toc if entry["title"] != "Sources"]
    post = _publish(editor, reviewer, replace(formatted, body_html=old_html, toc=old_toc))
    html = client.get(post.get_absolute_url()).content.decode()
    ids, contents = _ids_and_contents(html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert contents == [("what-goes-in", "What goes in"), ("sources", "Sources")]
    assert html.count('id="sources"') == 1 and '<section class="sources" aria-labelledby="sources">' in html


def test_provenance_names_the_model_and_the_approval_date_but_no_person(client, formatted_post, reviewer):
    html = client.get(formatted_post.get_absolute_url()).content.decode()
    note = main(html).split('id="provenance-title"', 1)[1].split("</aside>")[0]
    model = formatted_post.task.model.display_name
    assert f"the model {model}" in note
    assert "a member of the editorial team on" in note and timezone.localdate().strftime("%-d %B %Y") in note
    assert "1 public source." in note
    assert reviewer.username not in html and formatted_post.task.created_by.username not in html


def test_provenance_of_a_post_citing_nothing_public_says_so_in_words(client, editor, reviewer):
    task = completed_task(created_by=editor)
    version_create(task=task, phase="format", title="Composting", body="Greens and browns.",
                   body_html="<p>Greens and browns.</p>", sources=[])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    note = main(client.get(post.get_absolute_url()).content.decode()).split('id="provenance-title"', 1)[1]
    assert "It cites no public sources." in note and "0 public sources" not in note


def _provenance_note(client, post) -> str:
    html = main(client.get(post.get_absolute_url()).content.decode())
    return " ".join(html.split('id="provenance-title"', 1)[1].split("</aside>")[0].split())


def test_provenance_says_people_edited_the_models_text(client, editor, reviewer):
    task = completed_task(created_by=editor)
    task_edit_draft(task=task, by=editor, body="Composting turns kitchen scraps into rich, dark soil.")
    task_approve(task=task, by=reviewer)
    note = _provenance_note(client, task_publish(task=task, by=reviewer))
    assert f"Written with the model {task.model.display_name} and edited by the editorial team, then reviewed" in note


def test_provenance_of_text_people_wrote_from_a_models_outline_does_not_say_the_model_wrote_it(client, editor, reviewer):
    task = make_task(created_by=editor, topic="Street trees")
    for phase in ("draft", "format"):
        version_create(task=task, phase=phase, title="Street trees", body="## Shade\n\n(to write)", is_outline=True,
                       model_key="offline")
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", finished_at=timezone.now(), progress=100)
    task_edit_draft(task=task, by=editor, body="## Shade\n\nStreet trees cool the pavement under them by several degrees.")
    task_approve(task=task, by=reviewer)
    note = _provenance_note(client, task_publish(task=task, by=reviewer))
    assert "Written by the editorial team from an outline made with the model Offline writer (built in), then" in note
    assert "Written with" not in note


def test_provenance_of_a_restored_model_version_follows_what_was_restored(client, editor, reviewer):
    task = completed_task(created_by=editor)
    task_edit_draft(task=task, by=editor, body="A person's rewrite of the whole piece.")
    task_restore_version(task=task, by=editor, number=3)  # the format stage's version, as the model wrote it
    task_approve(task=task, by=reviewer)
    note = _provenance_note(client, task_publish(task=task, by=reviewer))
    assert f"Written with the model {task.model.display_name}, then reviewed" in note


def test_provenance_of_a_restored_edit_still_says_people_edited_it(client, editor, reviewer):
    task = completed_task(created_by=editor)
    task_edit_draft(task=task, by=editor, body="A person's rewrite of the whole piece.")
    task_edit_draft(task=task, by=editor, body="A second rewrite.")
    task_restore_version(task=task, by=editor, number=4)  # the first edit
    task_approve(task=task, by=reviewer)
    note = _provenance_note(client, task_publish(task=task, by=reviewer))
    assert "and edited by the editorial team" in note


def test_provenance_is_hidden_by_the_setting(client, formatted_post, settings):
    settings.PRESSROOM_SHOW_PROVENANCE = False
    html = client.get(formatted_post.get_absolute_url()).content.decode()
    assert "How this post was made" not in html and "Sources" in html


def test_hand_written_post_says_the_editorial_team_wrote_it(client):
    _post("by-hand", body="Written by a person.")
    note = main(client.get("/posts/by-hand/").content.decode()).split('id="provenance-title"', 1)[1]
    assert "Written by the editorial team." in note and "model" not in note


# --- archives ----------------------------------------------------------------------------------------
def test_category_and_tag_archives_list_published_posts_and_link_their_feeds(client, garden):
    for path in ("/category/gardening/", "/tag/soil/"):
        rss, atom = f"{path}feeds/rss/", f"{path}feeds/atom/"
        html = client.get(path).content.decode()
        assert "Soil health and compost" in html and "Compost basics" in html, path
        assert not any(title in html for title in HIDDEN), path
        feeds = {entry["href"] for entry in link(html, "alternate")}
        assert {rss, atom, "/feeds/rss/", "/feeds/atom/"} <= feeds, path
    assert "Worm bins" not in client.get("/tag/soil/").content.decode()


def test_unknown_archives_and_archives_of_only_hidden_posts_are_not_found(client, garden):
    Tag.objects.create(name="secret", slug="secret").posts.add(garden["draft"], garden["scheduled"])
    for path in ("/category/nope/", "/tag/nope/", "/tag/secret/"):
        assert client.get(path).status_code == 404, path


# --- the head ----------------------------------------------------------------------------------------
def test_post_head_has_description_canonical_open_graph_and_twitter_tags(client, media):
    post = Post(title="Pictured", slug="pictured", published_at=NOW() - timedelta(hours=1), excerpt="Leaves rot.",
                seo={"meta_description": "How leaves rot."}, image_alt="A heap of leaves")
    post.featured_image.save("pictured.png", ContentFile(PNG), save=False)
    post.save()
    html = client.get("/posts/pictured/").content.decode()
    image = f"http://testserver{post.featured_image.url}"
    assert meta(html, "description") == "How leaves rot."
    assert link(html, "canonical")[0]["href"] == "http://testserver/posts/pictured/"
    assert meta(html, "og:image") == image and meta(html, "twitter:image") == image
    assert meta(html, "og:type") == "article" and meta(html, "twitter:card") == "summary_large_image"
    assert re.search(r"<title>Pictured · Pressroom</title>", html)


def test_json_ld_parses_and_escapes_a_closing_script_tag_in_the_title(client):
    title = 'Why </script><script>alert(1)</script> & "quotes" break pages'
    _post("escaped", title=title, excerpt="About escaping.")
    html = client.get("/posts/escaped/").content.decode()
    blocks = parse(html).json_ld
    assert len(blocks) == 1
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL).group(1)
    assert "<" not in raw and ">" not in raw and "&" not in raw
    data = json.loads(raw)
    assert data["@type"] == "BlogPosting" and data["headline"] == title
    assert data["url"] == "http://testserver/posts/escaped/"
    assert html.count("<script") == 1, "the JSON-LD block is the only script on the page"


def test_pages_carry_no_inline_style_or_script(client, garden):
    for path in ("/", "/posts/compost-basics/", "/category/gardening/", "/tag/soil/", "/search/?q=soil", "/nope/"):
        html = client.get(path).content.decode()
        assert "<style" not in html and " style=" not in html, path
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all('type="application/ld+json"' in script for script in scripts), path
        assert '/static/publishing/blog.css"' in html, path


def test_500_page_renders_without_a_request_or_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = get_template("500.html").render()
    assert "Something went wrong" in html and "/static/publishing/blog.css" in html


# --- query budgets ----------------------------------------------------------------------------------
def test_pages_read_the_database_a_few_times_only(client, garden, formatted_post, django_assert_max_num_queries):
    for number in range(12):
        _post(f"filler-{number}", ago=timedelta(days=10 + number), category=garden["category"],
              tags=[garden["compost"]])
    # Each budget counts the read of the blog's version in the shared cache (publishing.caching), and
    # a post's the setting that has its related posts planned for their values (config.postgresql).
    for path, budget in (("/", 3), ("/?page=2", 3), ("/category/gardening/", 4), ("/tag/compost/", 4),
                         ("/posts/compost-basics/", 7), (formatted_post.get_absolute_url(), 8)):
        with django_assert_max_num_queries(budget):
            assert client.get(path).status_code == 200, path


# --- a post the real pipeline made ------------------------------------------------------------------
@pytest.mark.slow
def test_a_pipeline_made_post_prints_its_title_once_and_never_the_editors_notes(pipeline, editor, reviewer):
    from content.models import ContentVersion
    from tests.content.notes import HEAT_PUMPS, research_inputs
    from tests.content.test_pipeline import run_one
    from tests.factories import submit_task

    task = submit_task(created_by=editor, topic="Heat pumps for older homes", word_count=300,
                       primary_keyword="heat pump", category="Energy", tags=["heating"],
                       metadata=research_inputs(HEAT_PUMPS))
    assert run_one().status == "completed"
    final = ContentVersion.objects.filter(task=task).order_by("-number").first()
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    html = Client().get(post.get_absolute_url()).content.decode()
    assert [tag for tag, _ in parse(html).tags].count("h1") == 1
    assert main(html).count(f">{final.title}<") == 1, "the title is printed once, as the page heading"
    assert "Editor" not in html
    assert "How this post was made" in html and "Offline" in main(html).split('id="provenance-title"')[1]


def test_the_migration_rederives_existing_bodies_without_their_title():
    from importlib import import_module

    from django.apps import apps

    post = _post("old-post", title="Old post", body="# Old post\n\nThe text.")
    Post.objects.filter(pk=post.pk).update(body_html="<h1>Old post</h1>\n<p>The text.</p>")
    import_module("publishing.migrations.0006_post_body_without_title").rederive(apps, None)
    post.refresh_from_db()
    assert post.body_html.strip() == "<p>The text.</p>"


def test_related_posts_are_planned_for_the_post_at_hand(garden):
    """Prepared, the related-posts query was given one generic plan after five runs for a post,
    which took 57 ms instead of 11 on a 1,000-post blog: it is planned for its values each time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from publishing import selectors

    post = Post.objects.get(slug="compost-basics")
    with CaptureQueriesContext(connection) as captured:
        related = selectors.related_posts(post)

    statements = [query["sql"] for query in captured.captured_queries]
    assert "set_config('plan_cache_mode', 'force_custom_plan', true)" in statements[-2]
    assert [p.slug for p in related][:1] == ["soil-health"]


def test_the_page_ids_no_heading_takes_are_the_ones_the_post_page_uses():
    """`content.formatting.PAGE_IDS` lists the ids of the page around an article; a template
    that gave an element another id would let a heading take it too."""
    from pathlib import Path

    from content.formatting import PAGE_IDS

    templates = Path(__file__).parents[2] / "templates"
    used = set()
    for name in ("base.html", "publishing/post_detail.html", "publishing/_sources.html"):
        used |= set(re.findall(r'\bid="([^"{]+)"', (templates / name).read_text()))
    assert used - {"sources"} == PAGE_IDS


def test_headings_named_like_the_pages_own_elements_take_other_ids(client, editor, reviewer):
    """Found in a review: a heading "Main" was `id="main"`, the skip link's target, and "Related
    title" the related posts' label; two elements had one id."""
    article = "# Composting\n\nIntro [2].\n\n## Main\n\nText.\n\n## Toc title\n\nText.\n\n" \
              "## Provenance title\n\nText.\n\n## Related title\n\nText.\n\n## Site search q\n\nText.\n"
    post = _publish(editor, reviewer, format_article(article, fallback_title="x", sources=SOURCES))
    html = client.get(post.get_absolute_url()).content.decode()
    ids, contents = _ids_and_contents(html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [target for target, _ in contents][:5] == [
        "main-2", "toc-title-2", "provenance-title-2", "related-title-2", "site-search-q-2"]
