"""The webhook API: superusers script the subscriptions the admin manages, under the same rules
(the outbound URL guard, the secret's rules) and through the same services; the secret is shown
once; anyone else gets a 403."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from publishing.api import webhooks as webhooks_api
from publishing.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.factories import make_user
from tests.races import run_while_holding

pytestmark = pytest.mark.django_db

LIST = "/api/webhooks"
BODY = {"name": "Analytics", "url": "https://hooks.example.com/pressroom", "events": ["task.completed", "post.published"]}


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """*.example.com resolves to a public address, one name to a private one; no network."""
    def resolve(host, port, *args, **kwargs):
        if host == "intranet.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append(args))
    return calls


@pytest.fixture
def api(superuser) -> APIClient:
    client = APIClient()
    client.force_authenticate(superuser)
    return client


def test_a_superuser_creates_reads_changes_and_removes_a_subscription(api, superuser):
    created = api.post(LIST, BODY, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 20
    assert (body["name"], body["events"], body["active"], body["state"]) == (
        "Analytics", ["task.completed", "post.published"], True, "active")
    subscription = WebhookSubscription.objects.get(pk=body["id"])
    assert subscription.created_by == superuser and subscription.secret == body["secret"]

    listed = api.get(LIST).json()
    read = api.get(f"{LIST}/{body['id']}").json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in read and "secret" not in listed[0], "the secret is shown once"

    renamed = api.patch(f"{LIST}/{body['id']}", {"name": "Analytics (new)", "active": False}, format="json").json()
    assert (renamed["name"], renamed["active"], renamed["state"], renamed["url"]) == (
        "Analytics (new)", False, "paused", BODY["url"])
    assert "secret" not in renamed
    rotated = api.patch(f"{LIST}/{body['id']}", {"secret": "whsec_a-new-secret-for-the-receiver"}, format="json")
    assert rotated.json()["secret"] == "whsec_a-new-secret-for-the-receiver"

    assert api.delete(f"{LIST}/{body['id']}").status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert api.get(f"{LIST}/{body['id']}").status_code == 404


@pytest.mark.parametrize(("field", "value", "message"), [
    ("url", "http://127.0.0.1:8000/hook", "not a public address"),
    ("url", "https://intranet.example.com/hook", "Refusing to deliver to intranet.example.com"),
    ("url", "ftp://hooks.example.com/", "Only http and https URLs"),
    ("url", "https://hooks.example.com/\x00", "Contains a NUL character, which cannot be stored."),
    ("events", [], "Ensure this field has at least 1 elements."),
    ("events", ["task.completed", "task.exploded"], '"task.exploded" is not a valid choice.'),
    ("events", "task.completed", 'Expected a list of items but got type "str".'),
    ("secret", "short", "at least 16 characters"),
    ("secret", "whsec_with a space inside it", "printable characters only, without spaces"),
    ("secret", "x" * 201, "no more than 200 characters"),
    ("name", 12345, "Not a valid string."),
    ("name", "", "This field may not be blank."),
    ("active", "yes", "Must be true or false."),
    ("colour", "blue", "Unknown field."),
])
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_is_stored(field, value, message, api):
    answer = api.post(LIST, {**BODY, field: value}, format="json")
    assert answer.status_code == 400
    error = answer.json()["error"]
    messages = error["fields"][field]
    messages = [text for texts in messages.values() for text in texts] if isinstance(messages, dict) else messages
    assert any(message in text for text in messages), error
    assert not WebhookSubscription.objects.exists()


def test_a_change_is_checked_by_the_same_rules_and_changes_nothing_when_refused(api):
    subscription = WebhookSubscription.objects.create(name="Chat", url="https://chat.example.com/", events=["task.failed"])
    answer = api.patch(f"{LIST}/{subscription.pk}", {"url": "http://10.0.0.5/", "name": "Renamed"}, format="json")
    assert answer.status_code == 400 and "url" in answer.json()["error"]["fields"]
    subscription.refresh_from_db()
    assert (subscription.name, subscription.url) == ("Chat", "https://chat.example.com/")


def test_switching_a_disabled_subscription_on_forgets_its_failures(api):
    subscription = WebhookSubscription.objects.create(
        name="Broken", url="https://broken.example.com/", events=["task.failed"], active=False,
        consecutive_failures=15, disabled_at=timezone.now(), disabled_reason="15 failed attempts in a row")
    assert api.get(f"{LIST}/{subscription.pk}").json()["state"] == "disabled"
    body = api.patch(f"{LIST}/{subscription.pk}", {"active": True}, format="json").json()
    assert (body["state"], body["consecutive_failures"], body["disabled_at"], body["disabled_reason"]) == (
        "active", 0, None, "")


def test_pings_deliveries_and_resending_through_the_api(api, enqueued, django_capture_on_commit_callbacks):
    subscription = WebhookSubscription.objects.create(name="Chat", url="https://chat.example.com/", events=["task.failed"])
    failed = WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_f", payload={},
                                            status="failed", response_code=500, scheduled_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        ping = api.post(f"{LIST}/{subscription.pk}/ping")
        again = api.post(f"/api/webhook-deliveries/{failed.pk}/resend")
    refused = api.post(f"/api/webhook-deliveries/{failed.pk}/resend")
    deliveries = api.get(f"{LIST}/{subscription.pk}/deliveries").json()

    assert ping.status_code == 202 and ping.json()["event"] == "ping"
    assert again.status_code == 202 and again.json()["event_id"] == "evt_f" and again.json()["status"] == "pending"
    assert sorted(enqueued) == sorted([(ping.json()["id"],), (again.json()["id"],)])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_resendable"
    assert "came after it" in refused.json()["error"]["message"]
    assert [item["id"] for item in deliveries] == sorted(
        [failed.pk, ping.json()["id"], again.json()["id"]], reverse=True)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("patch", "{subscription}", {"name": "Renamed"}),
    ("post", "{subscription}/ping", None),
    ("post", "/api/webhook-deliveries/{delivery}/resend", None),
], ids=["change", "ping", "resend"])
def test_a_subscription_another_admin_deletes_meanwhile_is_a_404_and_nothing_is_written(
        method, path, body, api, enqueued, monkeypatch):
    subscription = WebhookSubscription.objects.create(name="Chat", url="https://chat.example.com/", events=["task.failed"])
    failed = WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_f", payload={},
                                            status="failed", response_code=500, scheduled_at=timezone.now())
    found_by = {"_subscription": webhooks_api._subscription, "get_object_or_404": webhooks_api.get_object_or_404}

    def found_then_deleted(name):
        def find(*args, **kwargs):
            found = found_by[name](*args, **kwargs)
            WebhookSubscription.objects.filter(pk=subscription.pk).delete()  # another admin's delete commits
            return found
        return find

    for name in found_by:
        monkeypatch.setattr(webhooks_api, name, found_then_deleted(name))
    url = path.format(subscription=f"{LIST}/{subscription.pk}", delivery=failed.pk)

    answer = getattr(api, method)(url, body, format="json")

    assert answer.status_code == 404, answer.content
    assert "deleted meanwhile" in answer.json()["error"]["message"]
    assert not WebhookSubscription.objects.exists() and not WebhookDelivery.objects.exists() and not enqueued


@pytest.mark.parametrize("role", ["editor", "reviewer", "staff"])
def test_nobody_but_a_superuser_manages_webhooks(role, editor, reviewer):
    user = {"editor": editor, "reviewer": reviewer, "staff": make_user("staff-only")}[role]
    client = APIClient()
    client.force_authenticate(user)
    subscription = WebhookSubscription.objects.create(name="Chat", url="https://chat.example.com/", events=["task.failed"])
    for method, path in [("get", LIST), ("post", LIST), ("get", f"{LIST}/{subscription.pk}"),
                         ("patch", f"{LIST}/{subscription.pk}"), ("delete", f"{LIST}/{subscription.pk}"),
                         ("get", f"{LIST}/{subscription.pk}/deliveries"), ("post", f"{LIST}/{subscription.pk}/ping")]:
        answer = getattr(client, method)(path, BODY, format="json")
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert answer.json()["error"]["message"] == "Only superusers manage webhooks."
    assert APIClient().get(LIST).status_code == 401
    assert WebhookSubscription.objects.get().name == "Chat"


@pytest.mark.parametrize("path", [f"{LIST}/0", f"{LIST}/99999999999999999999999", f"{LIST}/99999999999999999999999/ping",
                                  "/api/webhook-deliveries/99999999999999999999999/resend", f"{LIST}/abc"])
def test_absurd_ids_are_a_404(path, api):
    answer = api.get(path) if "ping" not in path and "resend" not in path else api.post(path)
    assert answer.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_subscription_asked_for_by_a_superuser_deleted_meanwhile_is_a_404_and_stores_nothing(api, superuser):
    """Another superuser deletes this one's account while the subscription is being made. Before,
    it was inserted naming the deleted account (`created_by`) and the commit failed: a 500. A
    subscription sends events to any URL, so a deleted account's request does not make one."""
    outcome = run_while_holding(lambda: get_user_model().objects.get(pk=superuser.pk).delete(),
                                lambda: api.post(LIST, BODY, format="json"))

    assert not isinstance(outcome, Exception), repr(outcome)
    assert outcome.status_code == 404, outcome.content
    assert not WebhookSubscription.objects.exists()
