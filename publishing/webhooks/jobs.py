"""django-q2 jobs of webhooks and notifications: thin entry points that call the services."""

from __future__ import annotations

from publishing.webhooks.notifications import notification_digest_send, notification_digests_recover
from publishing.webhooks.queueing import wait_for, wait_until
from publishing.webhooks.services import webhook_deliveries_recover, webhook_delivery_attempt, webhook_delivery_due_in


def deliver_webhook(delivery_id: int, not_before: str | None = None, when_due: bool = False) -> str:
    """Send one attempt of a delivery (a no-op if another job already did; `when_due`: a retry,
    sent once it is due by the database's clock, which the job waits for, or scheduled again)."""
    if when_due:
        wait_for(webhook_delivery_due_in(delivery_id=delivery_id))
    else:
        wait_until(not_before)
    delivery = webhook_delivery_attempt(delivery_id=delivery_id, when_due=when_due)
    return delivery.status if delivery is not None else "not pending"


def send_digest(recipient_id: int, not_before: str | None = None) -> int:
    """Email one recipient the notifications gathered for them; returns how many it listed."""
    wait_until(not_before)
    return notification_digest_send(recipient_id=recipient_id)


def recover() -> dict:
    """The minute sweep: attempts and digests whose job was lost (a safety net, like the reconciler)."""
    report = webhook_deliveries_recover()
    report["digests"] = notification_digests_recover()
    return report
