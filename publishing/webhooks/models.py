"""Rows of outgoing webhooks and email notifications.

`WebhookSubscription` is a receiver's URL, the events it wants and the secret its deliveries are
signed with; it counts failed attempts in a row and is switched off (with when and why) once they
pass PRESSROOM_WEBHOOK_DISABLE_AFTER, or at once when its receiver answers 410 Gone. `WebhookDelivery` is one attempt to deliver one event to
one subscription: a retry is a new row with the next attempt number and the same event id, so
the admin shows every attempt with its status, response code, error and duration.
`PendingNotification` is one line of a recipient's next digest email, about one task or one
subscription switched off after failures (never both: the database refuses it). Re-exported by
`publishing.models`, so they belong to the `publishing` app (migration 0008).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Case, Q, Value, When


class WebhookEvent(models.TextChoices):
    TASK_COMPLETED = "task.completed", "task.completed — a task finished its pipeline"
    TASK_FAILED = "task.failed", "task.failed — a task gave up"
    TASK_TIMED_OUT = "task.timed_out", "task.timed_out — a task ran past its deadline"
    TASK_APPROVED = "task.approved", "task.approved — a reviewer approved a piece"
    TASK_REJECTED = "task.rejected", "task.rejected — a reviewer rejected a piece"
    POST_PUBLISHED = "post.published", "post.published — a post went live"
    POST_UNPUBLISHED = "post.unpublished", "post.unpublished — a post was taken down"


# A test delivery an admin sends to check a receiver and its signature check; nobody subscribes to
# it, and it is never retried nor counted against the subscription (`webhook_subscription_ping`).
PING_EVENT = "ping"
DELIVERY_EVENTS = [*WebhookEvent.choices, (PING_EVENT, "ping — a test sent from the admin")]


def new_webhook_secret() -> str:
    """A random signing secret; the prefix tells it apart from other keys in a receiver's config."""
    return "whsec_" + secrets.token_urlsafe(32)


class SubscriptionState(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled after failures"
    PAUSED = "paused", "Switched off by hand"


def subscription_state_expression() -> Case:
    """A subscription's state in SQL, as `WebhookSubscription.state` says it in Python."""
    return Case(When(disabled_at__isnull=False, then=Value(SubscriptionState.DISABLED)),
                When(active=True, then=Value(SubscriptionState.ACTIVE)),
                default=Value(SubscriptionState.PAUSED), output_field=models.CharField())


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=100, help_text="Who receives these events, for the admin list.")
    url = models.CharField(
        "URL", max_length=2000,
        help_text="Public http(s) address that receives a POST per event; only 307 and 308 redirects are followed.",
    )
    events = ArrayField(models.CharField(max_length=32, choices=WebhookEvent.choices), default=list)
    secret = models.CharField(
        max_length=200, default=new_webhook_secret,
        help_text="Signs every delivery (Pressroom-Signature header); the receiver verifies with it.",
    )
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, help_text="Failed attempts in a row.")
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(events__len__gte=1)
                & Q(events__contained_by=[value for value in WebhookEvent.values]),
                name="webhook_events_known_and_not_empty",
            ),
            models.CheckConstraint(condition=~Q(secret=""), name="webhook_secret_not_empty"),
            models.CheckConstraint(  # a subscription switched off by failures is inactive
                condition=Q(disabled_at__isnull=True) | Q(active=False), name="webhook_disabled_is_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def disabled_by_failures(self) -> bool:
        return self.disabled_at is not None

    @property
    def state(self) -> str:
        if self.disabled_at is not None:
            return SubscriptionState.DISABLED
        return SubscriptionState.ACTIVE if self.active else SubscriptionState.PAUSED


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"  # the subscription was switched off before it was sent


class WebhookDelivery(models.Model):
    # db_index=False: webhook_delivery_recent (subscription, -created_at) serves every lookup by it.
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.CharField(max_length=32, choices=DELIVERY_EVENTS)
    event_id = models.CharField(max_length=64, help_text="The same for every attempt (Pressroom-Event-Id).")
    payload = models.JSONField()
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    scheduled_at = models.DateTimeField(help_text="When this attempt is due.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id", "attempt"], name="webhook_delivery_attempt_once"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"),
            models.CheckConstraint(condition=Q(event__in=[value for value, _ in DELIVERY_EVENTS]),
                                   name="webhook_delivery_event_valid"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="webhook_delivery_attempt_positive"),
        ]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_recent"),
            # The admin's list of every attempt, newest first: without it each page sorted the whole
            # table (776 ms at 1,000,000 attempts, docs/performance.md).
            models.Index(fields=["-created_at", "-id"], name="webhook_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription} (attempt {self.attempt})"


class PrunedDeliveryTotals(models.Model):
    """Finished delivery attempts deleted, by event and status: by the daily housekeeping, or with
    their subscription.

    `publishing.webhooks.metrics.WebhookDeliveriesCollector` adds them to the attempts still
    stored, so `pressroom_webhook_deliveries_total` never goes down, as a counter must not
    (Prometheus takes any decrease for a restart from zero). Added to in the transaction that
    deletes the attempts (`services.webhook_history_prune`, `services.webhook_subscriptions_delete`).
    """

    event = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    attempts = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "pruned delivery total"
        verbose_name_plural = "pruned delivery totals"
        constraints = [models.UniqueConstraint(fields=["event", "status"], name="pruned_delivery_totals_once")]

    def __str__(self) -> str:
        return f"{self.event} {self.status}: {self.attempts}"


class NotificationReason(models.TextChoices):
    AWAITS_REVIEW = "awaits_review", "Awaits review"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook switched off after failures"


# The reasons of a line about a task; WEBHOOK_DISABLED is the one reason of a line about a subscription.
TASK_REASONS = [NotificationReason.AWAITS_REVIEW, NotificationReason.FAILED, NotificationReason.TIMED_OUT]


class PendingNotification(models.Model):
    """One line of `recipient`'s next digest, about a task or a subscription (exactly one of
    them); `sent_at` is set when the digest went out. Either going deletes the line with it."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("tasks.GenerationTask", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    subscription = models.ForeignKey(WebhookSubscription, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    reason = models.CharField(max_length=16, choices=NotificationReason.choices)
    summary = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(task__isnull=False, subscription__isnull=True)
                | Q(task__isnull=True, subscription__isnull=False),
                name="notification_one_target",
            ),
            models.CheckConstraint(  # and the reason fits the target
                condition=Q(reason__in=TASK_REASONS, task__isnull=False)
                | Q(reason=NotificationReason.WEBHOOK_DISABLED, subscription__isnull=False),
                name="notification_reason_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient"], condition=Q(sent_at__isnull=True), name="notification_unsent"),
        ]
