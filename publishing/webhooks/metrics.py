"""Webhook deliveries for `/metrics`: a collector that reads the delivery table.

Counted from the database, so the figure is the same whichever process serves `/metrics` and
survives restarts. `outcome` is the attempt's status (succeeded, failed, cancelled; pending
attempts are not finished and not counted). Listed in PRESSROOM_METRICS_COLLECTORS to be served.
"""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily

from publishing.webhooks.models import DeliveryStatus, WebhookDelivery


class WebhookDeliveriesCollector:
    """`pressroom_webhook_deliveries_total{event,outcome}`: finished delivery attempts."""

    def collect(self):
        family = CounterMetricFamily("pressroom_webhook_deliveries", "Finished webhook delivery attempts.",
                                     labels=["event", "outcome"])
        rows = (WebhookDelivery.objects.exclude(status=DeliveryStatus.PENDING)
                .values("event", "status").annotate(count=Count("id")).order_by("event", "status"))
        for row in rows:
            family.add_metric([row["event"], row["status"]], row["count"])
        yield family
