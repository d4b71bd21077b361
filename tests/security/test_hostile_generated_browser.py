"""A hostile piece in Debian's Chromium: the shapes of text a model may write hold the layout of
every page that shows it, and nothing on those pages loads from another site.

The piece is formatted and published as the pipeline does it (`format_article`, approve, publish):
a 500-character word in its title, topic, category, paragraphs, inline code, a link's text, a
heading, a quote, a list, a table, a code block, an image's alt text and credit and a source's
title; a 500-character URL; a quote nested nineteen deep and a list nested fifteen deep; an image
from another site. The blog's pages are read at 360 and 1280 px, the admin's (the task page, the
version compare, the lists, the dashboard) at 390 (the phone width of tests/tasks/test_admin_browser)
and 1280 px; screenshots go to var/screenshots/hostile/ for a person to look at. Daphne serves the
test database; all database work happens before the browser starts.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from content.formatting import format_article
from content.providers.base import Source
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.services.posts import task_publish
from tests.editorial import completed_task, editor_and_reviewer
from tests.processes import WebServer
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_live_progress import _log_in, chromium  # noqa: F401 (fixture)

SCREENSHOTS = Path(__file__).parents[2] / "var" / "screenshots" / "hostile"
WORD = "W" + "abcdefghij" * 50
URL = "https://example.org/" + "a" * 480
TITLE = f"Composting {WORD[:200]}"
ARTICLE = f"""# {TITLE}

Intro {WORD} [1]. Inline `{WORD}` code, a link [{WORD}](https://example.org/x) and <{URL}>.

![{WORD}](/media/missing.png)

![A tracker](https://tracker.example/pixel.png)

## Heading {WORD}

> A quote {WORD}

- An item {WORD}
  - A sub-item {WORD}

{"> " * 19}A quote nested deep, {WORD[:40]}

{"".join(f"{'  ' * depth}- level {depth}{chr(10)}" for depth in range(15))}
| a | {WORD} |
|---|---|
| 1 | 2 |

```
{WORD}
```

**{WORD}** _{WORD}_
"""
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def hostile_site(tmp_path):
    ensure_seed_data()
    editor, reviewer = editor_and_reviewer("hostile-editor", "hostile-reviewer")
    task = completed_task(created_by=editor, title=TITLE, topic=WORD[:200], category="C" + WORD[:90],
                          tags=["t" + "x" * 49])
    sources = [Source(1, f"Source {WORD}", url=URL)]
    formatted = format_article(ARTICLE, fallback_title=TITLE, sources=sources)
    version_create(task=task, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, excerpt=formatted.excerpt, seo=formatted.seo(),
                   sources=[asdict(source) for source in sources], image_alt=WORD[:300], image_credit=WORD[:300])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    waiting = completed_task(created_by=editor, title=TITLE, topic=WORD[:200], slug="")  # awaits review
    version_create(task=waiting, phase="format", title=formatted.title, body=formatted.body,
                   body_html=formatted.body_html, excerpt=formatted.excerpt, seo=formatted.seo(),
                   sources=[asdict(source) for source in sources])
    blog = {"post": post.get_absolute_url(), "home": "/", "category": f"/category/{post.category.slug}/",
            "search": "/search/?q=intro"}
    admin = {"task": f"/admin/tasks/generationtask/{task.pk}/change/",
             "compare": f"/admin/tasks/generationtask/{task.pk}/diff/", "tasks": "/admin/tasks/generationtask/",
             "queue": "/admin/tasks/generationtask/?review=awaiting",
             "waiting": f"/admin/tasks/generationtask/{waiting.pk}/change/",
             "version": f"/admin/content/contentversion/{waiting.versions.latest('number').pk}/change/",
             "posts": "/admin/publishing/post/", "post": f"/admin/publishing/post/{post.pk}/change/",
             "dashboard": "/admin/"}
    with WebServer(tmp_path) as server:
        yield server, reviewer, blog, admin


def _visit(chromium, site, *, width: int, admin_width: int, on_page=None, on_request=None) -> None:  # noqa: F811
    """Open the blog's pages at `width`, then sign in and open the admin's at `admin_width`, calling
    `on_page(page, name, width)` on each page and `on_request(url)` on each request."""
    server, reviewer, blog, admin = site
    context = chromium.new_context(viewport={"width": width, "height": 800})
    if on_request:
        context.on("request", lambda request: on_request(request.url))
    page = context.new_page()
    try:
        for name, path in blog.items():
            page.goto(f"{server.url}{path}")
            if on_page:
                on_page(page, f"blog-{name}", width)
        _log_in(page, server.url, reviewer)
        page.set_viewport_size({"width": admin_width, "height": 800})
        for name, path in admin.items():
            page.goto(f"{server.url}{path}")
            if on_page:
                on_page(page, f"admin-{name}", admin_width)
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_hostile_piece_pushes_no_blog_or_admin_page_sideways(hostile_site, chromium):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    overflowing = {}

    def measure(page, name: str, width: int) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        if (scroll_width := page.evaluate(PAGE_WIDTH)) > width:
            overflowing[f"{name} at {width}"] = scroll_width

    _visit(chromium, hostile_site, width=360, admin_width=390, on_page=measure)
    _visit(chromium, hostile_site, width=1280, admin_width=1280, on_page=measure)
    assert overflowing == {}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_page_showing_a_hostile_piece_loads_anything_from_another_site(hostile_site, chromium):  # noqa: F811
    server = hostile_site[0]
    requested = []
    _visit(chromium, hostile_site, width=1280, admin_width=1280, on_request=requested.append)
    assert any(url.endswith(".css") for url in requested), "the requests were seen"
    assert [url for url in requested if not url.startswith((f"{server.url}/", "data:"))] == []
