"""The public blog in Debian's Chromium (Playwright), served by Daphne on the test database.

A reader searches from the home page and lands on the post; axe-core (vendored from npm in
tests/vendor/axe.min.js, injected only into a context that bypasses the page's CSP) finds no
serious or critical violation on the home, post, archive and search pages in light and dark; the
pages fit 360 px without horizontal scrolling; screenshots at 360 and 1280 px, light and dark, go
to var/screenshots/blog/ for a person to look at.
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
    return posts


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
    posts = _publish_articles()
    not_found = Client().get("/no-such-page/")  # the server runs with DEBUG on: it would show its debug page
    assert not_found.status_code == 404
    server = WebServer(tmp_path, env={"MEDIA_ROOT": str(media)})
    try:
        server.wait_until_ready()
        yield {"server": server, "posts": posts, "not_found_html": not_found.content.decode()}
    finally:
        server.stop()


def _pages(site) -> dict[str, str]:
    post = site["posts"][0]
    return {"home": "/", "post": post.get_absolute_url(), "category": f"/category/{post.category.slug}/",
            "tag": "/tag/compost/", "search": "/search/?q=compost"}


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
