"""Models of the `publishing` app, re-exported here."""

from publishing.models.posts import Category, Post, PostChange, PostChangeKind, PostQuerySet, SlugRedirect, Tag
from publishing.webhooks.models import (
    DeliveryStatus, NotificationReason, PendingNotification, PrunedDeliveryTotals, WebhookDelivery, WebhookEvent,
    WebhookSubscription,
)

__all__ = [
    "Category", "DeliveryStatus", "NotificationReason", "PendingNotification", "Post", "PostChange", "PostChangeKind",
    "PostQuerySet", "PrunedDeliveryTotals", "SlugRedirect", "Tag", "WebhookDelivery", "WebhookEvent", "WebhookSubscription",
]
