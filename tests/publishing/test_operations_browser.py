"""The operations pages of the oversight hub in a real browser: webhook subscriptions (one switched
off by failures), their delivery attempts, and users' monthly budgets with their history.

Screenshots of each page go to var/screenshots/operations/ for a person to look at; the checks
are what an admin relies on there: the disabled subscription stands out and its filter finds it,
an attempt's page shows what was sent and what came back, a budget's page shows spend and history.
Daphne serves the test database; all database work happens before the browser starts (see
tests/tasks/test_admin_browser.py).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from publishing.roles import EDITORS, REVIEWERS
from publishing.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tasks.services.budgets import budget_set
from tests.factories import make_task, make_user
from tests.processes import WebServer
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_browser import _signed_in_page
from tests.tasks.test_admin_live_progress import chromium  # noqa: F401 (fixture)

SCREENSHOTS = Path(__file__).parents[2] / "var" / "screenshots" / "operations"
DISABLED_REASON = "5 failed attempts in a row; the last: HTTP 503 from https://hooks.example.com/pressroom"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def operations(tmp_path):
    ensure_seed_data()
    admin = make_user("ops-admin", is_superuser=True)
    reviewer = make_user("ops-reviewer")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    editor = make_user("ops-editor")
    editor.groups.add(Group.objects.get(name=EDITORS))
    now = timezone.now()

    chat = WebhookSubscription.objects.create(
        name="Team chat", url="https://chat.example.com/hooks/pressroom",
        events=["task.completed", "task.failed", "task.timed_out"], created_by=admin)
    WebhookSubscription.objects.create(
        name="Newsletter", url="https://news.example.org/incoming/post-published",
        events=["post.published", "post.unpublished"], active=False, created_by=admin)
    broken = WebhookSubscription.objects.create(
        name="Old analytics", url="https://hooks.example.com/pressroom", events=["task.approved", "task.rejected"],
        active=False, consecutive_failures=5, disabled_at=now - timedelta(hours=2), disabled_reason=DISABLED_REASON,
        created_by=admin)

    task = make_task(created_by=editor, title="Heat pumps in old houses", status="completed", phase="",
                     progress=100, finished_at=now)
    payload = {"id": "evt_3f1d", "type": "task.completed", "created_at": now.isoformat(),
               "task": {"id": str(task.pk), "status": "completed", "phase": "", "progress": 100},
               "message": "Task completed."}
    WebhookDelivery.objects.create(
        subscription=chat, event="task.completed", event_id="evt_3f1d", payload=payload, attempt=1,
        status=DeliveryStatus.SUCCEEDED, response_code=204, scheduled_at=now, started_at=now,
        finished_at=now + timedelta(milliseconds=84), duration_ms=84)
    for attempt in range(1, 6):
        WebhookDelivery.objects.create(
            subscription=broken, event="task.approved", event_id="evt_77ab",
            payload={**payload, "type": "task.approved"}, attempt=attempt, status=DeliveryStatus.FAILED, response_code=503,
            error="HTTP 503: <html><body>Service Unavailable</body></html>",
            scheduled_at=now, started_at=now, finished_at=now, duration_ms=1200 + attempt)
    WebhookDelivery.objects.create(
        subscription=chat, event="task.failed", event_id="evt_9c20", payload={**payload, "type": "task.failed"},
        attempt=1, status=DeliveryStatus.PENDING, scheduled_at=now + timedelta(seconds=30))

    budget_set(user=editor, monthly_limit=Decimal("25.00"), by=reviewer, reason="Pilot month for the energy desk.")
    budget_set(user=editor, monthly_limit=Decimal("40.00"), by=admin, reason="Two long features approved.")
    make_task(created_by=editor, title="A task that cost something", status="completed", phase="", progress=100,
              finished_at=now, actual_cost=Decimal("12.3456"))

    with WebServer(tmp_path) as server:
        yield server, admin, broken


def _row_texts(page) -> list[str]:
    return [" ".join(text.split()) for text in page.locator("#result_list tbody tr").all_inner_texts()]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_admin_sees_which_webhook_failed_and_what_it_answered(operations, chromium):  # noqa: F811
    server, admin, broken = operations
    page = _signed_in_page(chromium, server, admin, reverse("admin:publishing_webhooksubscription_changelist"))
    subscriptions = _row_texts(page)
    _shot(page, "webhook-subscriptions")
    dark = page.context.browser.new_context(viewport=page.viewport_size, color_scheme="dark")
    dark.add_cookies(page.context.cookies())
    dark_page = dark.new_page()
    dark_page.goto(f"{server.url}{reverse('admin:publishing_webhookdelivery_changelist')}")
    _shot(dark_page, "webhook-deliveries-dark")
    failed_colour, text_colour = (dark_page.locator(selector).first.evaluate("e => getComputedStyle(e).color")
                                  for selector in (".webhook-outcome--failed", "td.field-subscription"))
    dark.close()
    page.goto(f"{server.url}{reverse('admin:publishing_webhooksubscription_changelist')}?state=disabled")
    disabled_only = _row_texts(page)
    page.goto(f"{server.url}{reverse('admin:publishing_webhooksubscription_change', args=[broken.pk])}")
    reason_shown = " ".join(page.locator(".field-disabled_reason").inner_text().split())
    first_section = " ".join(page.locator("fieldset").first.inner_text().split())
    recent = page.locator("table.webhook-attempts tbody tr").all_inner_texts()
    _shot(page, "webhook-subscription-disabled")

    page.goto(f"{server.url}{reverse('admin:publishing_webhookdelivery_changelist')}")
    deliveries = _row_texts(page)
    _shot(page, "webhook-deliveries")
    page.locator("#result_list tbody tr", has_text="Old analytics").first.locator("th a").click()
    page.wait_for_selector(".field-payload_json")
    attempt_page = " ".join(page.locator("#content").inner_text().split())
    _shot(page, "webhook-delivery")
    page.context.close()

    newsletter, analytics, chat = subscriptions
    assert newsletter.startswith("Newsletter https://news.example.org/incoming/post-published")
    assert "Switched off by hand" in newsletter and "last attempt" not in newsletter and newsletter.endswith("—")
    assert analytics.startswith("Old analytics https://hooks.example.com/pressroom")
    assert "Disabled after failures since" in analytics and "Failed · HTTP 503" in analytics
    assert "Active" in chat and "Pending" in chat, "the newest attempt is the pending one"
    assert len(disabled_only) == 1 and disabled_only[0].startswith("Old analytics")
    assert first_section.startswith("Delivery health State: Disabled after failures"), first_section
    assert DISABLED_REASON in reason_shown
    assert len(recent) == 5 and all("Failed" in row and "503" in row for row in recent)
    assert len(deliveries) == 7
    assert failed_colour != text_colour, "failures stand out in the dark theme too"
    assert sum("Failed · HTTP 503" in row for row in deliveries) == 5
    assert [row.split(" attempt ")[1][0] for row in deliveries if "task.approved" in row] == ["5", "4", "3", "2", "1"]
    assert any("Succeeded · HTTP 204" in row for row in deliveries)
    assert any("Pending due " in row for row in deliveries)
    assert "task.approved → Old analytics (attempt 5)" in attempt_page
    assert "Service Unavailable" in attempt_page and "evt_77ab" in attempt_page
    assert '"type": "task.approved"' in attempt_page
    assert "1,205 ms" in attempt_page
    assert "just now" in analytics


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_sees_a_budget_with_its_spend_and_history(operations, chromium):  # noqa: F811
    server, admin, _ = operations
    page = _signed_in_page(chromium, server, admin, reverse("admin:tasks_costbudget_changelist"))
    budgets = _row_texts(page)
    _shot(page, "budgets")
    page.locator("#result_list tbody tr", has_text="ops-editor").first.locator("th a").click()
    page.wait_for_selector(".field-history")
    spent = " ".join(page.locator(".field-spent_this_month").inner_text().split())
    history = " ".join(page.locator(".field-history").inner_text().split())
    _shot(page, "budget")
    page.context.close()

    assert any(row.startswith("ops-editor $40.00 $12.35 (31% of the limit)") for row in budgets), budgets
    assert "$12.35 (31% of the limit)" in spent
    assert "Pilot month for the energy desk." in history and "Two long features approved." in history
    assert history.index("Two long features approved.") < history.index("Pilot month for the energy desk."), \
        "the newest change first"
