"""The daily housekeeping job (publishing.jobs.housekeeping): old delivery history and expired
refresh tokens go; what is pending, recent or still valid stays."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from publishing.jobs import housekeeping
from publishing.webhooks.models import DeliveryStatus, PendingNotification, WebhookDelivery, WebhookSubscription
from tests.factories import make_task

pytestmark = pytest.mark.django_db


def _delivery(subscription, *, status: str, finished_days_ago: float | None, created_days_ago: float = 0):
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="task.completed", event_id=f"e-{WebhookDelivery.objects.count()}",
        payload={}, status=status, scheduled_at=now,
        finished_at=None if finished_days_ago is None else now - timedelta(days=finished_days_ago),
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=now - timedelta(days=created_days_ago))
    return delivery


@pytest.fixture
def subscription():
    return WebhookSubscription.objects.create(name="Receiver", url="https://hooks.example.com/in",
                                              events=["task.completed"], secret="whsec_housekeeping-secret")


def test_finished_webhook_attempts_older_than_the_history_go_and_the_rest_stay(subscription, settings):
    settings.PRESSROOM_DELIVERY_HISTORY_DAYS = 30
    old_sent = _delivery(subscription, status=DeliveryStatus.SUCCEEDED, finished_days_ago=31)
    old_failed = _delivery(subscription, status=DeliveryStatus.FAILED, finished_days_ago=45)
    old_cancelled = _delivery(subscription, status=DeliveryStatus.CANCELLED, finished_days_ago=None,
                              created_days_ago=40)
    recent = _delivery(subscription, status=DeliveryStatus.FAILED, finished_days_ago=29)
    old_pending = _delivery(subscription, status=DeliveryStatus.PENDING, finished_days_ago=None, created_days_ago=60)

    report = housekeeping()

    assert report["webhook_deliveries"] == 3
    remaining = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, old_pending.pk}
    assert not remaining & {old_sent.pk, old_failed.pk, old_cancelled.pk}
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()


def test_sent_notification_lines_older_than_the_history_go_and_unsent_ones_stay(editor, settings):
    settings.PRESSROOM_DELIVERY_HISTORY_DAYS = 7
    task = make_task(created_by=editor)
    now = timezone.now()

    def line(sent_days_ago):
        return PendingNotification.objects.create(
            recipient=editor, task=task, reason="failed", summary="A task",
            sent_at=None if sent_days_ago is None else now - timedelta(days=sent_days_ago),
        )

    old_sent, recent_sent, unsent = line(8), line(6), line(None)
    subscription = WebhookSubscription.objects.create(name="Gone", url="https://hooks.example.com/gone",
                                                      events=["task.completed"])
    old_sent_of_a_subscription, unsent_of_a_subscription = (PendingNotification.objects.create(
        recipient=editor, subscription=subscription, reason="webhook_disabled", summary="A subscription",
        sent_at=sent_at) for sent_at in (now - timedelta(days=8), None))

    assert housekeeping()["notifications"] == 2
    assert set(PendingNotification.objects.values_list("pk", flat=True)) == {
        recent_sent.pk, unsent.pk, unsent_of_a_subscription.pk}
    assert not PendingNotification.objects.filter(pk__in=[old_sent.pk, old_sent_of_a_subscription.pk]).exists()


def test_expired_refresh_tokens_and_their_blacklist_entries_go(editor):
    now = timezone.now()
    expired = OutstandingToken.objects.create(user=editor, jti="expired", token="t1", created_at=now - timedelta(days=3),
                                              expires_at=now - timedelta(days=2))
    BlacklistedToken.objects.create(token=expired)
    live = OutstandingToken.objects.create(user=editor, jti="live", token="t2", created_at=now,
                                           expires_at=now + timedelta(days=1))

    report = housekeeping()

    assert report["expired_tokens"] == 2  # the token and its blacklist entry
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["live"]
    assert not BlacklistedToken.objects.exists()
    assert OutstandingToken.objects.get(pk=live.pk).expires_at > now


def test_the_cluster_runs_it_every_day():
    schedule = Schedule.objects.get(name="pressroom-housekeeping")

    assert schedule.func == "publishing.jobs.housekeeping"
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
