"""`pressroom_webhook_deliveries_total` (publishing/webhooks/metrics.py) after the daily
housekeeping deleted old attempts: a counter must not go down, since Prometheus reads any
decrease as a restart from zero and counts the whole remaining history again as new (an alert on
`increase(...{outcome="failed"}[1h])` fired once a day, at the sweep)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry

from publishing.webhooks.metrics import WebhookDeliveriesCollector
from publishing.webhooks.models import WebhookDelivery, WebhookSubscription
from publishing.webhooks.services import webhook_history_prune

pytestmark = pytest.mark.django_db


def scraped(event: str, outcome: str) -> float:
    registry = CollectorRegistry()
    registry.register(WebhookDeliveriesCollector())
    return registry.get_sample_value("pressroom_webhook_deliveries_total", {"event": event, "outcome": outcome}) or 0.0


def attempt(subscription, number: int, status: str, *, age_days: int) -> WebhookDelivery:
    finished = timezone.now() - timedelta(days=age_days)
    return WebhookDelivery.objects.create(
        subscription=subscription, event="task.completed", event_id="evt_1", attempt=number, payload={},
        status=status, scheduled_at=finished, finished_at=None if status == "pending" else finished)


def test_pruned_attempts_stay_counted():
    subscription = WebhookSubscription.objects.create(name="Receiver", url="https://example.com/hook",
                                                      events=["task.completed"], secret="whsec_some-long-secret")
    for number in (1, 2, 3):
        attempt(subscription, number, "failed", age_days=100)
    attempt(subscription, 4, "succeeded", age_days=100)
    attempt(subscription, 5, "failed", age_days=1)
    attempt(subscription, 6, "pending", age_days=0)
    assert (scraped("task.completed", "failed"), scraped("task.completed", "succeeded")) == (4, 1)

    assert webhook_history_prune(older_than=timedelta(days=90)) == 4

    assert WebhookDelivery.objects.count() == 2
    assert (scraped("task.completed", "failed"), scraped("task.completed", "succeeded")) == (4, 1)
    assert scraped("task.completed", "pending") == 0
    assert webhook_history_prune(older_than=timedelta(days=90)) == 0
    assert (scraped("task.completed", "failed"), scraped("task.completed", "succeeded")) == (4, 1)


def test_the_attempts_of_a_deleted_subscription_stay_counted():
    """Deleting a subscription deletes its attempts with it (admin and API alike): the counter went
    down by all of them."""
    from publishing.webhooks.services import webhook_subscriptions_delete

    subscription = WebhookSubscription.objects.create(name="Leaving", url="https://example.com/hook",
                                                      events=["task.completed"], secret="whsec_some-long-secret")
    attempt(subscription, 1, "failed", age_days=1)
    attempt(subscription, 2, "succeeded", age_days=1)
    attempt(subscription, 3, "pending", age_days=0)

    assert webhook_subscriptions_delete(ids=[subscription.pk]) == 1

    assert not WebhookDelivery.objects.exists()
    assert (scraped("task.completed", "failed"), scraped("task.completed", "succeeded")) == (1, 1)
    assert scraped("task.completed", "pending") == 0
