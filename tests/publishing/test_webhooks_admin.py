"""Webhook subscriptions in the admin: pages render, bad input is a form error (never a 500),
the URL guard runs at save, disabled subscriptions are flagged and can be re-enabled."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from publishing.webhooks import admin as webhooks_admin
from publishing.webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

ADD = reverse("admin:publishing_webhooksubscription_add")
LIST = reverse("admin:publishing_webhooksubscription_changelist")


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """The names these tests use, resolved without the network: *.example.com to a public address
    (TEST-NET addresses would count as private), one internal-looking name to a private one, one
    name not at all."""
    import socket

    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "hooks.internal-but-public-looking.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        if host == "hooks.offline.example.com":
            raise socket.gaierror("Name or service not known")
        if host.endswith(".example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def form(**overrides) -> dict:
    data = {"name": "Analytics", "url": "https://hooks.example.com/pressroom", "events": ["task.completed"],
            "secret": "whsec_a-long-enough-secret", "active": "on"}
    data.update(overrides)
    return data


def disabled_subscription() -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name="Broken receiver", url="https://broken.example.com/", events=["task.failed"], active=False,
        consecutive_failures=15, disabled_at=timezone.now(), disabled_reason="15 failed attempts in a row; HTTP 500")


def test_add_change_and_list_pages_render_with_filters_and_the_disabled_badge(client):
    subscription = disabled_subscription()
    WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_1", payload={},
                                   status="failed", response_code=500, scheduled_at=timezone.now())
    assert client.get(ADD).status_code == 200
    assert client.get(reverse("admin:publishing_webhooksubscription_change", args=[subscription.pk])).status_code == 200
    listing = client.get(LIST)
    assert listing.status_code == 200 and "Disabled after failures" in listing.content.decode()
    for state, count in (("disabled", 1), ("active", 0), ("paused", 0)):
        response = client.get(LIST, {"state": state})
        assert response.status_code == 200 and len(response.context["cl"].result_list) == count
    deliveries = reverse("admin:publishing_webhookdelivery_changelist")
    assert client.get(deliveries, {"status": "failed"}).status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert client.get(reverse("admin:publishing_webhookdelivery_change", args=[delivery.pk])).status_code == 200


def test_the_list_shows_each_subscriptions_newest_attempt_linking_to_its_attempts(client,
                                                                                 django_assert_max_num_queries):
    broken, quiet = disabled_subscription(), WebhookSubscription.objects.create(
        name="Quiet", url="https://quiet.example.com/", events=["task.failed"])
    other = WebhookSubscription.objects.create(name="Other", url="https://other.example.com/", events=["task.failed"])
    now = timezone.now()
    for attempt, (status, code) in enumerate([("failed", 500), ("failed", 502)], start=1):
        WebhookDelivery.objects.create(subscription=broken, event="task.failed", event_id="evt_1", payload={},
                                       attempt=attempt, status=status, response_code=code, scheduled_at=now)
    WebhookDelivery.objects.create(subscription=other, event="task.failed", event_id="evt_1", payload={},
                                   status="succeeded", response_code=200, scheduled_at=now)
    client.get(LIST)  # sessions and permissions warm up

    with django_assert_max_num_queries(8):  # one query for the rows and their newest attempts
        listing = client.get(LIST)
    attempts = client.get(reverse("admin:publishing_webhookdelivery_changelist"),
                          {"subscription__id__exact": broken.pk})

    rows = {row.name: row for row in listing.context["cl"].result_list}
    assert (rows["Broken receiver"].last_status, rows["Broken receiver"].last_response_code) == ("failed", 502)
    assert rows["Quiet"].last_status is None and quiet.pk
    html = listing.content.decode()
    assert f'href="{reverse("admin:publishing_webhookdelivery_changelist")}?subscription__id__exact={broken.pk}"' in html
    assert "Failed · HTTP 502" in html and "Succeeded · HTTP 200" in html
    assert [row.attempt for row in attempts.context["cl"].result_list] == [2, 1]


def test_an_attempt_page_links_the_task_and_shows_the_body_indented(client):
    subscription = disabled_subscription()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="task.failed", event_id="evt_1", scheduled_at=timezone.now(),
        payload={"type": "task.failed", "task": {"id": "3f2c9a4e-5b1d-4e8a-9c7f-0d6b2a1e8f34"},
                 "message": "<script>alert(1)</script>"})
    page = client.get(reverse("admin:publishing_webhookdelivery_change", args=[delivery.pk])).content.decode()
    task_url = reverse("admin:tasks_generationtask_change", args=["3f2c9a4e-5b1d-4e8a-9c7f-0d6b2a1e8f34"])
    assert f'<a href="{task_url}">3f2c9a4e-5b1d-4e8a-9c7f-0d6b2a1e8f34</a>' in page
    assert '<pre class="webhook-payload">{\n  &quot;' in page, "indented, a key per line"
    assert "\n  &quot;message&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in page
    assert "<script>alert(1)</script>" not in page
    assert "task.failed → Broken receiver (attempt 1)" in page


def test_a_valid_subscription_is_saved_with_its_creator(client, superuser):
    response = client.post(ADD, form(events=["task.completed", "post.published"]))
    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["task.completed", "post.published"] and subscription.created_by == superuser


@pytest.mark.parametrize(("field", "value", "message"), [
    ("url", "http://127.0.0.1:8000/hook", "not a public address"),
    ("url", "http://localhost/hook", "not a public address"),
    ("url", "http://10.0.0.5/hook", "not a public address"),
    ("url", "http://169.254.169.254/latest", "not a public address"),
    ("url", "ftp://hooks.example.com/", "Only http and https"),
    ("url", "https://user:pw@hooks.example.com/", "user name or password"),
    ("url", "https://hooks.example.com:99999999/", "not a valid URL"),
    ("url", "https://hooks.example.com/" + "a" * 3000, "at most 2000"),
    ("url", "https://hooks.example.com/\x00", "Null characters are not allowed"),
    ("name", "bad\x00name", "Null characters are not allowed"),
    ("events", [], "This field is required"),
    ("events", ["task.exploded"], "Select a valid choice"),
    ("secret", "short", "at least 16 characters"),
    ("secret", "has spaces in the secret", "printable characters only"),
])
def test_bad_input_is_refused_with_a_message(client, field, value, message):
    response = client.post(ADD, form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not WebhookSubscription.objects.exists()


def test_the_re_enable_action_resets_the_failure_count(client):
    subscription = disabled_subscription()
    response = client.post(LIST, {"action": "reenable", "_selected_action": [subscription.pk]}, follow=True)
    assert response.status_code == 200 and "Re-enabled 1 subscription." in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures, subscription.disabled_at,
            subscription.disabled_reason) == (True, 0, None, "")


def test_re_enabling_a_subscription_another_admin_deleted_meanwhile_says_so_and_enables_the_rest(client, monkeypatch):
    first = disabled_subscription()
    deleted = WebhookSubscription.objects.create(name="Deleted meanwhile", url="https://gone.example.com/",
                                                 events=["task.failed"])
    enable = webhooks_admin.webhook_subscription_enable

    def enable_while_the_other_is_deleted(*, subscription):
        WebhookSubscription.objects.filter(pk=deleted.pk).delete()  # after the action read the selection
        return enable(subscription=subscription)

    monkeypatch.setattr(webhooks_admin, "webhook_subscription_enable", enable_while_the_other_is_deleted)
    response = client.post(LIST, {"action": "reenable", "_selected_action": [first.pk, deleted.pk]}, follow=True)

    page = response.content.decode()
    assert response.status_code == 200 and "Re-enabled 1 subscription." in page
    assert "Deleted meanwhile: This webhook subscription was deleted meanwhile; nothing was done." in page
    assert list(WebhookSubscription.objects.values_list("pk", "active")) == [(first.pk, True)]


def test_the_send_again_action_queues_a_new_attempt_and_says_what_it_refused(client, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: enqueued.append(args))
    receiver = WebhookSubscription.objects.create(name="Fixed receiver", url="https://fixed.example.com/",
                                                  events=["task.failed"])
    now = timezone.now()
    failed, succeeded = (
        WebhookDelivery.objects.create(subscription=receiver, event="task.failed", event_id=event_id, payload={},
                                       status=status, response_code=code, scheduled_at=now, finished_at=now)
        for event_id, status, code in (("evt_f", "failed", 500), ("evt_s", "succeeded", 200)))
    deliveries = reverse("admin:publishing_webhookdelivery_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(deliveries, {"action": "resend", "_selected_action": [failed.pk, succeeded.pk]},
                           follow=True).content.decode()

    again = WebhookDelivery.objects.get(event_id="evt_f", status="pending")
    assert again.attempt > failed.attempt and enqueued == [(again.pk,)]
    assert "Sent again: 1 attempt queued." in page
    assert "Not sent again. Attempt 1 of evt_s to Fixed receiver: it is succeeded." in page
    assert WebhookDelivery.objects.filter(event_id="evt_s").count() == 1


def test_the_test_event_action_queues_a_ping_for_each_subscription_chosen(client, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: enqueued.append(args))
    chosen = [disabled_subscription(), WebhookSubscription.objects.create(
        name="On", url="https://on.example.com/", events=["task.failed"])]
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(LIST, {"action": "ping", "_selected_action": [s.pk for s in chosen]},
                           follow=True).content.decode()
    pings = list(WebhookDelivery.objects.filter(event="ping").order_by("subscription__name"))
    assert [(ping.subscription, ping.status) for ping in pings] == [(chosen[0], "pending"), (chosen[1], "pending")]
    assert sorted(enqueued) == sorted((ping.pk,) for ping in pings)
    assert "Test event queued for 2 subscriptions" in page
    assert f'<a href="{reverse("admin:publishing_webhookdelivery_changelist")}">Webhook deliveries</a>' in page


def test_a_subscription_whose_receiver_answered_410_is_flagged_with_the_reason(client, settings, monkeypatch):
    from publishing.webhooks import jobs
    from tests.publishing.webhook_receiver import Receiver

    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)
    with Receiver("whsec_a-long-enough-secret", statuses=[410]) as receiver:
        subscription = WebhookSubscription.objects.create(name="Moved away", url=receiver.url,
                                                          events=["task.failed"], secret="whsec_a-long-enough-secret")
        delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_1",
                                                  payload={}, scheduled_at=timezone.now())
        jobs.deliver_webhook(delivery.pk)
    page = client.get(reverse("admin:publishing_webhooksubscription_change", args=[subscription.pk])).content.decode()
    assert "Disabled after failures" in page and "HTTP 410 Gone: the receiver says this URL is gone for good" in page
    assert page.index("HTTP 410 Gone") < page.index('name="url"'), "the reason comes before the form"
    listing = client.get(LIST, {"state": "disabled"})
    assert [row.name for row in listing.context["cl"].result_list] == ["Moved away"]


def test_ticking_active_on_a_disabled_subscription_re_enables_it(client):
    subscription = disabled_subscription()
    change = reverse("admin:publishing_webhooksubscription_change", args=[subscription.pk])
    response = client.post(change, form(url=subscription.url, events=["task.failed"], secret=subscription.secret))
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.active and subscription.disabled_at is None and subscription.consecutive_failures == 0


def test_delivery_attempts_are_read_only(client):
    subscription = disabled_subscription()
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_1",
                                              payload={}, scheduled_at=timezone.now())
    assert client.get(reverse("admin:publishing_webhookdelivery_add")).status_code == 403
    change = reverse("admin:publishing_webhookdelivery_change", args=[delivery.pk])
    client.post(change, {"status": "succeeded"})
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_editors_and_reviewers_cannot_manage_webhooks(editor, reviewer):
    for user in (editor, reviewer):
        client = Client()
        client.force_login(user)
        assert client.get(LIST).status_code == 403
        assert client.post(ADD, form()).status_code == 403
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("query", [
    "state=bogus", "created_at__year=99999999999999", "q=%00", "consecutive_failures=99999999999999999999999",
    "subscription__id__exact=99999999999999999999999", "status=%00", "o=99",
])
@pytest.mark.parametrize("changelist", ["webhooksubscription", "webhookdelivery"])
def test_hostile_query_strings_on_the_lists_never_give_a_500(client, changelist, query):
    response = client.get(reverse(f"admin:publishing_{changelist}_changelist") + "?" + query)
    assert response.status_code in (200, 302, 400)


@pytest.mark.parametrize(("pk", "answers"), [
    ("99999999999999999999999", (302, 404)), ("abc", (302, 404)),
    ("%00", (400,)),  # a NUL in any admin path (config/query_guard.py)
])
def test_change_pages_of_absurd_ids_never_give_a_500(client, pk, answers):
    for model in ("webhooksubscription", "webhookdelivery"):
        response = client.get(f"/admin/publishing/{model}/{pk}/change/")
        assert response.status_code in answers


def test_a_name_resolving_to_a_private_address_is_refused_at_save(client):
    response = client.post(ADD, form(url="https://hooks.internal-but-public-looking.com/in"))
    assert response.status_code == 200 and "resolves to a private or local address" in response.content.decode()
    assert "10.1.2.3" not in response.content.decode()  # never tells what an internal name resolves to
    assert not WebhookSubscription.objects.exists()
    # a name that does not resolve yet is accepted: the guard runs again at every send
    assert client.post(ADD, form(url="https://hooks.offline.example.com/in")).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_saving_the_form_keeps_a_disable_recorded_while_the_page_was_open(client, monkeypatch):
    # The delivery jobs disable a subscription after its 15th failure in a row. When that happens
    # while an admin's save of the same subscription is under way (its URL's DNS lookup, say), the
    # save wrote back the whole copy it had loaded: active again, 14 failures, no reason.
    import psycopg

    from tasks import url_guard
    from tests import processes

    subscription = WebhookSubscription.objects.create(name="Analytics", url="https://hooks.example.com/pressroom",
                                                      events=["task.completed"], secret="whsec_a-long-enough-secret",
                                                      consecutive_failures=14)
    real_lookup = url_guard.public_addresses

    def lookup_while_a_delivery_fails(url):
        with psycopg.connect(processes.test_database_url(), autocommit=True) as jobs:
            jobs.execute("UPDATE publishing_webhooksubscription SET active = false, consecutive_failures = 15, "
                         "disabled_at = now(), disabled_reason = '15 failed attempts in a row; HTTP 500' "
                         "WHERE id = %s", [subscription.pk])
        return real_lookup(url)

    monkeypatch.setattr(url_guard, "public_addresses", lookup_while_a_delivery_fails)

    response = client.post(reverse("admin:publishing_webhooksubscription_change", args=[subscription.pk]),
                           form(name="Analytics, renamed"))

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.active, subscription.consecutive_failures) == (
        "Analytics, renamed", False, 15)
    assert subscription.disabled_at is not None and "15 failed attempts" in subscription.disabled_reason


# --- the signing secret: shown when the subscription is made, never again ---------------------


def test_the_add_page_shows_the_generated_secret_to_copy(client):
    page = client.get(ADD).content.decode()
    assert re.search(r'name="secret" value="whsec_[\w-]{40,}"', page) and "it is not shown again" in page


def test_a_subscriptions_page_never_shows_its_secret_and_keeps_it_when_left_empty(client):
    subscription = WebhookSubscription.objects.create(name="Analytics", url="https://hooks.example.com/pressroom",
                                                      events=["task.failed"], secret="whsec_kept-secret-0123456789")
    change = reverse("admin:publishing_webhooksubscription_change", args=[subscription.pk])

    page = client.get(change).content.decode()
    response = client.post(change, form(name="Renamed", events=["task.failed"], secret=""))

    assert "whsec_kept-secret-0123456789" not in page and "ends in “…6789”" in page
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.secret) == ("Renamed", "whsec_kept-secret-0123456789")
    history = LogEntry.objects.get(object_id=str(subscription.pk)).get_change_message()
    assert "Name" in history and "Secret" not in history


def test_a_secret_typed_on_a_subscriptions_page_replaces_it_by_the_same_rules(client):
    subscription = WebhookSubscription.objects.create(name="Analytics", url="https://hooks.example.com/pressroom",
                                                      events=["task.failed"], secret="whsec_kept-secret-0123456789")
    change = reverse("admin:publishing_webhooksubscription_change", args=[subscription.pk])

    refused = client.post(change, form(events=["task.failed"], secret="short"))
    replaced = client.post(change, form(events=["task.failed"], secret="whsec_a-brand-new-secret"))

    assert refused.status_code == 200 and "at least 16 characters" in refused.content.decode()
    assert replaced.status_code == 302
    subscription.refresh_from_db()
    assert subscription.secret == "whsec_a-brand-new-secret"


def test_the_list_says_when_the_newest_attempt_is_a_ping_which_counts_for_nothing(client):
    subscription = WebhookSubscription.objects.create(name="Analytics", url="https://hooks.example.com/pressroom",
                                                      events=["task.failed"])
    WebhookDelivery.objects.create(subscription=subscription, event="ping", event_id="evt_ping_1", payload={},
                                   status="failed", scheduled_at=timezone.now(),
                                   error="Could not resolve the host of https://hooks.example.com/pressroom")

    page = client.get(LIST).content.decode()

    assert "Failed" in page and "a ping, not counted" in page
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0 and subscription.active


def test_the_attempts_list_takes_its_newest_page_from_an_index(client):
    """Ordered newest first with no index on `created_at`, each page of the attempts' list sorted
    every attempt (776 ms at 1,000,000, bench/big_site.py). Sequential scans and sorts are priced
    out: on a test's few rows they would win."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    subscription = WebhookSubscription.objects.create(name="Search", url="https://hooks.example.com/a",
                                                      events=["task.failed"])
    WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_1", payload={},
                                   status="failed", response_code=500, scheduled_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:publishing_webhookdelivery_changelist")).status_code == 200
    page = next(query["sql"] for query in queries
                if query["sql"].startswith('SELECT "publishing_webhookdelivery"."id"') and "ORDER BY" in query["sql"])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {page}")
            plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "webhook_delivery_created" in plan, plan
