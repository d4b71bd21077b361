"""Deleting a webhook subscription while an event's attempts are being recorded for it: the delete
waits for the recording transaction and deletes its attempts too, from the admin and the API
alike (`publishing.webhooks.services.webhook_subscriptions_delete`), instead of failing on the
attempts' foreign key at commit (a 500)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from publishing.webhooks.models import WebhookDelivery, WebhookSubscription
from publishing.webhooks.services import webhook_deliveries_create
from tests.factories import make_user
from tests.races import run_while_holding

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append(args))
    return calls


def subscribe(name: str) -> WebhookSubscription:
    return WebhookSubscription.objects.create(name=name, url=f"https://hooks.example.com/{name}",
                                              events=["task.completed"], secret="whsec_a-secret-for-the-receiver")


def record_a_completed_task() -> list[WebhookDelivery]:
    payload = {"kind": "status", "status": "completed", "task": str(uuid.uuid4()), "sequence": 7,
               "created_at": timezone.now().isoformat(), "message": "Completed."}
    return webhook_deliveries_create(payload=payload)


def api_delete(subscription: WebhookSubscription, superuser):
    def verb():
        client = APIClient()
        client.force_authenticate(superuser)
        return client.delete(f"/api/webhooks/{subscription.pk}")
    return verb


def admin_delete(subscription: WebhookSubscription, superuser):
    def verb():
        client = Client(raise_request_exception=False)
        client.force_login(superuser)
        return client.post(f"/admin/publishing/webhooksubscription/{subscription.pk}/delete/", {"post": "yes"})
    return verb


def admin_delete_selected(subscription: WebhookSubscription, superuser):
    def verb():
        client = Client(raise_request_exception=False)
        client.force_login(superuser)
        return client.post("/admin/publishing/webhooksubscription/", {
            "action": "delete_selected", "_selected_action": [subscription.pk], "post": "yes"})
    return verb


@pytest.mark.parametrize(("entry", "status"), [(api_delete, 204), (admin_delete, 302), (admin_delete_selected, 302)])
def test_a_subscription_deleted_while_an_event_is_recorded_for_it_is_deleted_with_its_new_attempt(entry, status):
    superuser = make_user("root", is_superuser=True)
    deleted, kept = subscribe("deleted"), subscribe("kept")

    # The recording transaction keeps both subscriptions from deletion until it commits; the
    # delete comes while it is open, and waits for it.
    answer = run_while_holding(record_a_completed_task, entry(deleted, superuser))

    assert answer.status_code == status
    assert list(WebhookSubscription.objects.values_list("name", flat=True)) == ["kept"]
    assert list(WebhookDelivery.objects.values_list("subscription__name", "event")) == [("kept", "task.completed")]


def test_an_api_delete_of_a_subscription_deleted_meanwhile_is_a_404():
    superuser = make_user("root", is_superuser=True)
    subscription = subscribe("gone")

    # Found by the view, then deleted by another admin before the delete locks it.
    answer = run_while_holding(lambda: WebhookSubscription.objects.select_for_update().get(pk=subscription.pk),
                               api_delete(subscription, superuser),
                               then=lambda: WebhookSubscription.objects.filter(pk=subscription.pk).delete())

    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "This webhook subscription was deleted meanwhile; nothing was done."


def test_an_attempt_recorded_while_its_subscription_is_deleted_does_not_deadlock_and_records_nothing():
    """The deletion locks the subscription, then deletes its attempts (`webhook_subscriptions_delete`).
    Recording an attempt's outcome updated the attempt first and locked the subscription after,
    the other order: the two waited for each other and PostgreSQL aborted one (a 500, or an
    attempt's outcome lost with an error)."""
    from publishing.webhooks.services import SendResult, _record_attempt

    subscription = subscribe("deleted")
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_1",
                                              payload={}, attempt=1, scheduled_at=timezone.now(),
                                              started_at=timezone.now())

    def delete_attempts_then_subscription():  # the rest of the deletion, once the lock is held
        WebhookDelivery.objects.filter(subscription=subscription).delete()
        WebhookSubscription.objects.filter(pk=subscription.pk).delete()

    recorded = run_while_holding(
        lambda: WebhookSubscription.objects.select_for_update().get(pk=subscription.pk),  # the deletion's lock
        lambda: _record_attempt(delivery, SendResult(False, error="refused"), duration_ms=5),
        then=delete_attempts_then_subscription)

    assert recorded is False
    assert not WebhookDelivery.objects.exists() and not WebhookSubscription.objects.exists()
