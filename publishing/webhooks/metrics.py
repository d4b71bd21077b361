"""Webhooks for `/metrics`: a collector that reads the delivery and subscription tables.

Counted from the database, so the figure is the same whichever process serves `/metrics` and
survives restarts. `outcome` is the attempt's status (succeeded, failed, cancelled; pending
attempts are not finished and not counted); a subscription's `state` is active, disabled (after
failures: what an alert watches) or paused (by hand). Listed in PRESSROOM_METRICS_COLLECTORS to
be served.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from publishing.webhooks.models import (
    DeliveryStatus, PrunedDeliveryTotals, SubscriptionState, WebhookDelivery, WebhookSubscription,
    subscription_state_expression,
)


class WebhookDeliveriesCollector:
    """`pressroom_webhook_deliveries_total{event,outcome}`: finished delivery attempts, those
    stored and those the housekeeping deleted (`PrunedDeliveryTotals`), in one query."""

    def collect(self):
        family = CounterMetricFamily("pressroom_webhook_deliveries", "Finished webhook delivery attempts.",
                                     labels=["event", "outcome"])
        stored = (WebhookDelivery.objects.exclude(status=DeliveryStatus.PENDING)
                  .values("event", "status").annotate(count=Count("id")).order_by().values_list("event", "status", "count"))
        pruned = PrunedDeliveryTotals.objects.order_by().values_list("event", "status", "attempts")
        counts = Counter()
        for event, status, count in stored.union(pruned, all=True):
            counts[event, status] += count
        for (event, status), count in sorted(counts.items()):
            family.add_metric([event, status], count)
        yield family


class WebhookSubscriptionsCollector:
    """`pressroom_webhook_subscriptions{state}`: subscriptions by state."""

    def collect(self):
        family = GaugeMetricFamily("pressroom_webhook_subscriptions",
                                   "Webhook subscriptions by state (disabled: switched off after failures).",
                                   labels=["state"])
        counts = dict(WebhookSubscription.objects.annotate(state_now=subscription_state_expression())
                      .values("state_now").annotate(count=Count("id")).order_by().values_list("state_now", "count"))
        for state in SubscriptionState.values:
            family.add_metric([state], counts.get(state, 0))
        yield family
