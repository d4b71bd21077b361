"""Every list of the oversight hub in a real browser at 1280 px: its columns fit beside the
navigation and the filters, so no column is pushed out of sight (an admin would have to find the
table's own scroll bar to see it), even when a title or feedback is one 200-character word. Each
list, with a few rows of realistic data, leaves a screenshot in var/screenshots/admin-lists/.

Daphne serves the test database; all database work happens before the browser starts (see
tests/tasks/test_admin_browser.py).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from content.services.review import task_approve
from publishing.services.posts import task_publish
from publishing.webhooks.models import WebhookDelivery, WebhookSubscription
from tasks.services.budgets import budget_set
from tests.editorial import completed_task, editor_and_reviewer
from tests.factories import make_task, make_user
from tests.processes import WebServer
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_browser import VIEWPORT
from tests.tasks.test_admin_live_progress import _log_in, chromium  # noqa: F401 (fixture)

SCREENSHOTS = Path(__file__).parents[2] / "var" / "screenshots" / "admin-lists"
LONG_TITLE = "Heat pumps in houses built before 1950: what to measure, what to replace and what to keep"
# One unbroken word is wider than the whole list: a column must not grow to fit it.
LONG_WORD = "Supercalifragilisticexpialidocious" * 6


@pytest.fixture
def hub(tmp_path):
    ensure_seed_data()
    superuser = make_user("lists-admin", is_superuser=True)
    editor, reviewer = editor_and_reviewer("lists-editor", "lists-reviewer")
    task = completed_task(created_by=editor, title=LONG_TITLE)
    task_approve(task=task, by=reviewer, feedback="Clear, well sourced and the right length for the series.")
    task_publish(task=task, by=reviewer)
    worded = completed_task(created_by=editor, title=f"Composting {LONG_WORD} piles", slug="composting-long-word",
                            tags=["x" * 60, "compost"])
    task_approve(task=worded, by=reviewer, feedback=f"Fine, though {LONG_WORD} is one word too long.")
    task_publish(task=worded, by=reviewer)
    make_task(created_by=editor, title="A task that failed", status="failed", finished_at=timezone.now(),
              error="The provider answered 429 Too Many Requests: slow down and try again in 20 seconds.")
    subscription = WebhookSubscription.objects.create(
        name="Team chat", url="https://chat.example.com/hooks/pressroom/a-long-path-of-its-own",
        events=["task.completed", "task.failed"])
    WebhookDelivery.objects.create(
        subscription=subscription, event="task.failed", event_id="evt_1", payload={}, status="failed",
        response_code=503, error="HTTP 503: Service Unavailable", scheduled_at=timezone.now(),
        finished_at=timezone.now() + timedelta(seconds=1), duration_ms=1000)
    budget_set(user=editor, monthly_limit=Decimal("25"), by=superuser, reason="Pilot month.")
    lists = sorted(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
                   for model in admin.site._registry)
    with WebServer(tmp_path) as server:
        yield server, superuser, lists


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_list_shows_all_its_columns_at_1280_px(hub, chromium):  # noqa: F811
    server, superuser, lists = hub
    page = chromium.new_context(viewport=VIEWPORT).new_page()
    _log_in(page, server.url, superuser)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    overflowing, rows = {}, {}
    for path in lists:
        page.goto(f"{server.url}{path}")
        name = path.strip("/").replace("admin/", "").replace("/", "_")
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        rows[path] = page.locator("#result_list tbody tr").count()
        hidden = page.evaluate(
            "() => { const box = document.querySelector('#changelist .results');"
            " return box ? box.scrollWidth - box.clientWidth : 0; }")
        if hidden > 0:
            overflowing[path] = hidden
    page.context.close()

    assert overflowing == {}, f"px of table out of sight: {overflowing}"
    assert sum(1 for count in rows.values() if count) >= len(lists) // 2, rows


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_no_column_of_text_is_squeezed_to_a_letter_a_line(hub, chromium):  # noqa: F811
    """At 390 px the audit trail's task column was 48 px wide, one letter a line, beside a date
    that kept its width: a list may scroll sideways inside its box there, but its text stays readable."""
    server, superuser, lists = hub
    page = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    _log_in(page, server.url, superuser)
    squeezed = {}
    for path in lists:
        page.goto(f"{server.url}{path}")
        name = path.strip("/").replace("admin/", "").replace("/", "_")
        page.screenshot(path=SCREENSHOTS / f"{name}-390.png", full_page=True)
        narrow = page.evaluate("""() => [...document.querySelectorAll('#result_list tbody tr:first-child > *')]
            // the columns that may break a word anywhere: the others are never narrower than their longest word
            .filter(cell => getComputedStyle(cell).overflowWrap === 'anywhere' && cell.textContent.trim().length > 12)
            .map(cell => [cell.className, Math.round(cell.getBoundingClientRect().width)])
            .filter(([, width]) => width < 80)""")
        if narrow:
            squeezed[path] = narrow
    page.context.close()

    assert squeezed == {}, f"columns of text under 80 px at 390 px: {squeezed}"
