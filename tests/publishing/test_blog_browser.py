"""The public blog in Debian's Chromium (Playwright), served by Daphne on the test database.

A reader searches from the home page and lands on the post; axe-core (vendored from npm in
tests/vendor/axe.min.js, injected only into a context that bypasses the page's CSP) finds no
serious or critical violation on the home, post, archive and search pages in light and dark; the
pages fit 360 px without horizontal scrolling, and so does a hostile post (one unbroken word in its
title, a heading and a source, a 50-character tag, a wide table, a long line of code); screenshots
at 360 and 1280 px, light and dark, go to var/screenshots/blog/ for a person to look at.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from django.test import Client

from content.formatting import format_article
from content.providers.base import Source
from content.providers.offline_image import OfflineImageSource
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.services.posts import task_publish
from tests.editorial import completed_task, editor_and_reviewer
from tests.publishing.test_dashboard import chromium  # noqa: F401 (the fixture: Debian's Chromium)
from tests.seed import ensure_seed_data

BASE_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = BASE_DIR / "var" / "screenshots" / "blog"
AXE = BASE_DIR / "tests" / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(
    (v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' '))}))"""

ARTICLES = [
    ("Composting at home without the smell", "Gardening", ["compost", "soil"], "compost heap"),
    ("Why worms are a gardener's best friends", "Gardening", ["compost", "worms"], "worm bins"),
    ("Rainwater barrels for small gardens", "Gardening", ["water", "soil"], "rain barrels"),
    ("Heat pumps in older houses, explained", "Energy", ["heating", "efficiency"], "heat pumps"),
]


def _article(title: str, subject: str) -> str:
    paragraph = (f"People who try {subject} for the first time often expect it to be hard work [1]. In practice "
                 f"a little planning goes a long way, and most households see results within a season [2]. ")
    return (f"# {title}\n\n{paragraph * 2}\n\n## Getting started with {subject}\n\n{paragraph}\n\n"
            f"- Pick a spot that is easy to reach.\n- Keep notes for the first month.\n- Ask a neighbour.\n\n"
            f"## What it costs\n\n{paragraph * 3}\n\n### Hidden costs\n\n{paragraph}\n\n"
            f"## Living with {subject}\n\n{paragraph * 2}\n")


# A hostile post: one unbroken word in its title, a heading, a source's title and a 50-character
# tag; a table wider than a phone and a line of code longer than one; a "Sources" section of its own.
LONG_WORD = "Vermicomposting" + "Supercalifragilisticexpialidocious" * 3
LONG_TAG = "x" * 50
LONG_ARTICLE = f"""# Composting {LONG_WORD} piles

Vermiculite and {LONG_WORD} in one paragraph [1].

## Sources

The article's own section of that name: its heading must not take the page's list's id [1].

## Why {LONG_WORD} matters

| Material | Carbon | Nitrogen | Moisture | Turning | Weeks | Smell | Notes on what to watch for |
|---|---|---|---|---|---|---|---|
| Straw and dry autumn leaves | high | low | dry | weekly | twelve | none | shred first, they mat together |

```
compost --layers=greens,browns,greens,browns --water=moderate --turn-every=7d --temperature-target=60C
```
"""


def _publish_long_post(editor, reviewer):
    sources = [Source(1, f"The {LONG_WORD} handbook", url=f"https://example.org/{LONG_WORD}")]
    title = f"Composting {LONG_WORD} piles"
    task = completed_task(created_by=editor, title=title, topic=title, category="Gardening",
                          tags=[LONG_TAG, "compost"])
    formatted = format_article(LONG_ARTICLE, fallback_title=title, sources=sources)
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, excerpt=formatted.excerpt, seo=formatted.seo(),
                   sources=[asdict(source) for source in sources])
    task_approve(task=task, by=reviewer)
    return task_publish(task=task, by=reviewer)


def _publish_articles() -> list:
    editor, reviewer = editor_and_reviewer("blog-editor", "blog-reviewer")
    sources = [Source(1, "Editor's notes", quote="Private.", kind="pasted"),
               Source(2, "A practical guide", url="https://example.org/guide")]
    posts = []
    for title, category, tags, subject in ARTICLES:
        task = completed_task(created_by=editor, title=title, topic=title, category=category, tags=tags)
        formatted = format_article(_article(title, subject), fallback_title=title, sources=sources)
        image = OfflineImageSource().featured_image(title=title, topic=title, category=category, keywords=())
        version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                       body_html=formatted.body_html, excerpt=formatted.excerpt, seo=formatted.seo(),
                       sources=[asdict(source) for source in sources], image=image)
        task_approve(task=task, by=reviewer)
        posts.append(task_publish(task=task, by=reviewer))
    return posts, _publish_long_post(editor, reviewer)


@pytest.fixture
def blog_site(tmp_path, settings):
    """Published posts with generated images, the 404 page's HTML, and Daphne serving the site.

    All database work happens before the browser starts: Playwright's sync API runs an event loop
    in this thread, where Django would refuse queries.
    """
    from tests.processes import WebServer

    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    ensure_seed_data()
    posts, long_post = _publish_articles()
    not_found = Client().get("/no-such-page/")  # the server runs with DEBUG on: it would show its debug page
    assert not_found.status_code == 404
    server = WebServer(tmp_path, env={"MEDIA_ROOT": str(media)})
    try:
        server.wait_until_ready()
        yield {"server": server, "posts": posts, "long_post": long_post,
               "long_tag": f"/tag/{long_post.tags.get(name=LONG_TAG).slug}/", "not_found_html": not_found.content.decode()}
    finally:
        server.stop()


def _pages(site) -> dict[str, str]:
    post = site["posts"][0]
    return {"home": "/", "post": post.get_absolute_url(), "category": f"/category/{post.category.slug}/",
            "tag": "/tag/compost/", "search": "/search/?q=compost", "long-post": site["long_post"].get_absolute_url()}


def _open(page, site, name: str, path: str | None) -> None:
    url = site["server"].url
    if path is None:  # the 404 page, as the server renders it with DEBUG off
        page.goto(f"{url}/robots.txt")
        page.set_content(site["not_found_html"], wait_until="load")
    else:
        response = page.goto(f"{url}{path}")
        assert response.status == 200, (name, site["server"].output[-2000:])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_reader_searches_from_the_home_page_and_opens_the_post(blog_site, chromium):  # noqa: F811
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{blog_site['server'].url}/")
    page.fill("#site-search-q", "worms")
    page.press("#site-search-q", "Enter")
    page.wait_for_url("**/search/?q=worms")
    page.click("main article h2 a")
    page.wait_for_url("**/posts/**")
    assert page.locator("h1").all_inner_texts() == ["Why worms are a gardener's best friends"]
    context.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_axe_finds_no_serious_or_critical_violations_in_light_or_dark(blog_site, chromium):  # noqa: F811
    found = {}
    for scheme in ("light", "dark"):
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, bypass_csp=True)
        page = context.new_page()
        for name, path in _pages(blog_site).items():
            _open(page, blog_site, name, path)
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(AXE_RUN)
            blocking = [v for v in violations if v["impact"] in BLOCKING]
            if blocking:
                found[f"{scheme} {name}"] = blocking
        context.close()
    assert found == {}


EAGER_IMAGES = "() => document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pages_fit_360_px_and_screenshots_are_taken_light_and_dark(blog_site, chromium):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = {**_pages(blog_site), "404": None}
    overflowing, broken = {}, {}
    for width in (360, 1280):
        for scheme in ("light", "dark"):
            context = chromium.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
            page = context.new_page()
            for name, path in pages.items():
                _open(page, blog_site, name, path)
                # Lazy images below the fold never load for a full-page screenshot, and those in view
                # may still be loading: load them all and wait, so the screenshot shows the page.
                page.evaluate(EAGER_IMAGES)
                page.wait_for_function("() => [...document.images].every(img => img.complete)", timeout=15_000)
                if missing := page.evaluate("() => document.images.length ? [...document.images]"
                                            ".filter(img => !img.naturalWidth).map(img => img.src) : []"):
                    broken[f"{name} {width} {scheme}"] = missing
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
                scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
                if scroll_width > width:
                    overflowing[f"{name} {width} {scheme}"] = scroll_width
            context.close()
    assert overflowing == {}
    assert broken == {}, "every image on every page loads"


def _long_pages(site) -> dict[str, str]:
    post = site["long_post"]
    return {"long post": post.get_absolute_url(), "long tag": site["long_tag"],
            "long search": "/search/?q=vermiculite", "home": "/", "search": "/search/",
            "long neighbour": site["posts"][-1].get_absolute_url()}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_long_words_a_long_tag_a_wide_table_and_code_do_not_scroll_the_page_sideways_at_360_px(
        blog_site, chromium):  # noqa: F811
    pages = _long_pages(blog_site)
    context = chromium.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    overflowing = {}
    for name, path in pages.items():
        _open(page, blog_site, name, path)
        page.screenshot(path=str(SCREENSHOTS / f"{name.replace(' ', '-')}-360.png"), full_page=True)
        sizes = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if sizes[0] > sizes[1]:
            overflowing[name] = sizes
    context.close()
    assert overflowing == {}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_first_tab_shows_a_skip_link_that_moves_the_focus_to_the_content(blog_site, chromium):  # noqa: F811
    context = chromium.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    _open(page, blog_site, "post", blog_site["posts"][0].get_absolute_url())
    page.keyboard.press("Tab")
    skip = page.evaluate("() => { const el = document.activeElement, box = el.getBoundingClientRect();"
                         " return [el.textContent.trim(), box.top, box.left, box.width, box.height]; }")
    assert skip[0] == "Skip to content"
    assert skip[1] >= 0 and skip[2] >= 0 and skip[3] > 20 and skip[4] > 10, "in sight once it has the focus"
    page.screenshot(path=str(SCREENSHOTS / "skip-link-360.png"))
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
    context.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_keyboard_reader_reaches_and_scrolls_a_wide_table_and_code(blog_site, chromium):  # noqa: F811
    """Every region that scrolls sideways is reached by Tab and has a name, and a key scrolls it."""
    context = chromium.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    _open(page, blog_site, "long post", blog_site["long_post"].get_absolute_url())
    scrolling = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(el => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'auto')
        .map(el => [el.tabIndex, el.getAttribute('aria-label') || '',
                    (el.matches('table, pre') ? el : el.querySelector('table, pre'))?.tagName])""")
    assert sorted(kind for _, _, kind in scrolling) == ["PRE", "TABLE"]
    assert all(tab_index == 0 and name for tab_index, name, _ in scrolling), scrolling
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.firstElementChild?.tagName === 'TABLE'"):
            break
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")
    page.locator(":focus").screenshot(path=str(SCREENSHOTS / "table-focus-360.png"))
    context.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_landmarks_are_unique_and_scrolling_regions_focusable_by_axe(blog_site, chromium):  # noqa: F811
    """Rules whose impact is below "serious" (landmark-unique is "moderate"), checked all the same;
    and ids unique, which axe 4.14 no longer checks (an article's own "Sources" heading had the id
    of the page's list of sources)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    found = {}
    for name, path in {**_pages(blog_site), **_long_pages(blog_site)}.items():
        _open(page, blog_site, name, path)
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => (await axe.run(document, {runOnly: ['landmark-unique',
            'scrollable-region-focusable', 'bypass', 'region', 'landmark-one-main']})).violations.map(
            (v) => ({id: v.id, nodes: v.nodes.map((n) => n.target.join(' '))}))""")
        shared_ids = page.evaluate("""() => { const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
            return ids.filter((id, i) => ids.indexOf(id) !== i); }""")
        if shared_ids:
            violations.append({"id": "ids on more than one element", "nodes": shared_ids})
        if violations:
            found[name] = violations
    context.close()
    assert found == {}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 800, 360])
def test_each_search_filter_keeps_its_label_beside_it_and_the_controls_share_one_height(
        blog_site, chromium, width):  # noqa: F811
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    _open(page, blog_site, "search", "/search/?q=compost")
    page.screenshot(path=str(SCREENSHOTS / f"search-filters-{width}.png"))
    boxes = page.evaluate("""() => [...document.querySelectorAll('.filters label')].map(label => {
        const control = document.getElementById(label.htmlFor), l = label.getBoundingClientRect(),
              c = control.getBoundingClientRect();
        return [label.textContent, l.top + l.height / 2, c.top + c.height / 2, c.height]; })""")
    context.close()

    apart = {name: round(abs(label - control)) for name, label, control, _ in boxes if abs(label - control) > 2}
    assert apart == {}, f"a label stranded on another line than its control: {apart}"
    assert len({round(height) for *_, height in boxes}) == 1, f"controls of one height: {boxes}"
