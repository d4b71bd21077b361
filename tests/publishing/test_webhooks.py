"""Outgoing webhooks: which state changes become deliveries, signatures a standard-library
receiver verifies, retries with backoff, switching off after failures, and the URL guard at send.

Jobs are run by calling them, as a worker would; the enqueueing is recorded instead of reaching
a broker (`enqueued`), so no test waits through a real backoff.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta

import httpx

import pytest
from django.utils import timezone
from django_q.models import Schedule

from publishing.webhooks import jobs, services
from publishing.webhooks.events import webhook_event_name
from publishing.webhooks.metrics import WebhookDeliveriesCollector, WebhookSubscriptionsCollector
from publishing.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from publishing.webhooks.services import webhook_subscription_enable
from tasks.events import emit
from tasks.models import EventKind
from tasks.services.queue import enqueue_broker
from tests.factories import make_task
from tests.publishing.webhook_receiver import Receiver
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret-of-some-length"


@pytest.fixture
def allow_private(settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1


def subscribe(url: str, events=("task.completed",), **fields) -> WebhookSubscription:
    return WebhookSubscription.objects.create(name=fields.pop("name", "Receiver"), url=url, events=list(events),
                                              secret=SECRET, **fields)


def finish(task, status: str = "completed", message: str = "Completed.") -> None:
    task.status = status
    task.finished_at = timezone.now()
    task.save()
    emit(task, EventKind.STATUS, message=message)


def pending_attempt(subscription: WebhookSubscription, event_id: str) -> WebhookDelivery:
    """A first attempt due now, as a state change records it."""
    return WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id=event_id,
                                          payload={"id": event_id}, scheduled_at=timezone.now())


def deliver(delivery_id: int) -> WebhookDelivery:
    jobs.deliver_webhook(delivery_id)
    return WebhookDelivery.objects.get(pk=delivery_id)


@pytest.mark.parametrize(("payload", "name"), [
    ({"kind": "status", "status": "completed"}, "task.completed"),
    ({"kind": "status", "status": "failed"}, "task.failed"),
    ({"kind": "status", "status": "timed_out"}, "task.timed_out"),
    ({"kind": "status", "status": "running"}, None),
    ({"kind": "status", "status": "cancelled"}, None),
    ({"kind": "approval", "status": "completed", "data": {"decision": "approved"}}, "task.approved"),
    ({"kind": "approval", "status": "completed", "data": {"decision": "rejected"}}, "task.rejected"),
    ({"kind": "approval", "status": "completed", "data": {"decision": "approval_revoked"}}, None),
    ({"kind": "publication", "status": "completed", "data": {"decision": "published"}}, "post.published"),
    ({"kind": "publication", "status": "completed", "data": {"decision": "unpublished"}}, "post.unpublished"),
    ({"kind": "publication", "status": "completed", "data": {"decision": "scheduled"}}, None),
])
def test_state_changes_map_to_webhook_event_names(payload, name):
    assert webhook_event_name(payload) == name


def test_a_state_change_records_a_delivery_for_each_active_subscription_to_its_event(
        enqueued, django_capture_on_commit_callbacks):
    wanted = subscribe("https://hooks.example.com/a", events=["task.completed", "task.failed"])
    subscribe("https://hooks.example.com/b", events=["task.failed"], name="Other event")
    subscribe("https://hooks.example.com/c", active=False, name="Switched off")
    task = make_task()
    with django_capture_on_commit_callbacks(execute=True):
        finish(task)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription, delivery.event, delivery.attempt, delivery.status) == (
        wanted, "task.completed", 1, DeliveryStatus.PENDING)
    assert delivery.payload["type"] == "task.completed" and delivery.payload["task"]["id"] == str(task.pk)
    assert enqueued == [("publishing.webhooks.jobs.deliver_webhook", (delivery.pk,),
                         {"q_options": {"task_name": "deliver_webhook", "save": False, "broker": enqueue_broker()}})]


@pytest.mark.django_db(transaction=True)
def test_a_subscription_deleted_while_an_event_is_recorded_does_not_lose_it_for_the_others(enqueued, monkeypatch):
    ensure_seed_data()  # the catalog a task needs, which an earlier transactional test's flush removed
    kept = subscribe("https://hooks.example.com/kept")
    deleted = subscribe("https://hooks.example.com/deleted", name="Deleted meanwhile")
    read = services._subscribed_ids

    def read_then_deleted(name, **kwargs):
        found = read(name, **kwargs)
        # An admin's delete commits between the read of the subscribers and the insert of the attempts.
        WebhookSubscription.objects.filter(pk=deleted.pk).delete()
        return found

    monkeypatch.setattr(services, "_subscribed_ids", read_then_deleted)
    finish(make_task())

    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription_id, delivery.event) == (kept.pk, "task.completed")
    assert [args for _, args, _ in enqueued] == [(delivery.pk,)]


def test_progress_events_record_no_delivery(enqueued, django_capture_on_commit_callbacks):
    subscribe("https://hooks.example.com/a", events=[choice for choice, _ in WebhookSubscription._meta.get_field(
        "events").base_field.choices])
    task = make_task()
    with django_capture_on_commit_callbacks(execute=True):
        emit(task, EventKind.PROGRESS, message="Stage draft done.")
        emit(task, EventKind.STATUS, message="Attempt 1 of 3 started.")
    assert not WebhookDelivery.objects.exists() and enqueued == []


def test_the_delivery_is_signed_and_a_standard_library_receiver_verifies_it(
        allow_private, enqueued, django_capture_on_commit_callbacks):
    with Receiver(SECRET) as receiver:
        subscribe(receiver.url)
        task = make_task()
        with django_capture_on_commit_callbacks(execute=True):
            finish(task)
        delivery = deliver(WebhookDelivery.objects.get().pk)

    assert (delivery.status, delivery.response_code, delivery.error) == (DeliveryStatus.SUCCEEDED, 200, "")
    assert delivery.duration_ms is not None and delivery.finished_at is not None
    [got] = receiver.deliveries
    assert got["verified"] is True
    assert got["headers"]["pressroom-event"] == "task.completed"
    assert got["headers"]["pressroom-event-id"] == delivery.event_id == got["json"]["id"]
    assert got["headers"]["content-type"] == "application/json"
    assert got["json"]["type"] == "task.completed" and got["json"]["task"]["status"] == "completed"
    # a different secret, or a changed body, does not verify
    from tests.publishing.webhook_receiver import verify
    assert not verify("whsec_another-secret-entirely", got["headers"]["pressroom-signature"], got["body"])
    assert not verify(SECRET, got["headers"]["pressroom-signature"], got["body"] + b" ")


def test_a_receiver_failing_twice_gets_three_attempts_with_the_configured_backoff(
        allow_private, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 2
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 5
    with Receiver(SECRET, statuses=[500, 503]) as receiver:
        subscription = subscribe(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())
        first = WebhookDelivery.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            first = deliver(first.pk)
        second = WebhookDelivery.objects.get(attempt=2)
        subscription.refresh_from_db()
        assert subscription.consecutive_failures == 1
        with django_capture_on_commit_callbacks(execute=True):
            second = deliver(second.pk)
        third = deliver(WebhookDelivery.objects.get(attempt=3).pk)

    attempts = list(WebhookDelivery.objects.order_by("attempt"))
    assert [(a.attempt, a.status, a.response_code) for a in attempts] == [
        (1, "failed", 500), (2, "failed", 503), (3, "succeeded", 200)]
    assert "HTTP 500" in first.error and len(first.error) <= 1000
    assert len({a.event_id for a in attempts}) == 1
    # backoff: 2 s after the first failure, 4 s after the second
    assert abs((second.scheduled_at - first.finished_at).total_seconds() - 2) < 1
    assert abs((third.scheduled_at - second.finished_at).total_seconds() - 4) < 1
    retries = [call for call in enqueued if call[1] != (first.pk,)]
    assert [(call[1], call[2].get("when_due")) for call in retries] == [((second.pk,), True), ((third.pk,), True)]
    assert [d["headers"]["pressroom-delivery-attempt"] for d in receiver.deliveries] == ["1", "2", "3"]
    assert all(d["verified"] for d in receiver.deliveries)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0 and subscription.active


def test_an_event_that_ran_out_of_attempts_is_sent_again_once_the_receiver_is_fixed(
        allow_private, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver(SECRET, statuses=[500, 500, 200]) as receiver:
        subscribe(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())
        with django_capture_on_commit_callbacks(execute=True):
            deliver(WebhookDelivery.objects.get(attempt=1).pk)
        last = deliver(WebhookDelivery.objects.get(attempt=2).pk)
        assert last.status == "failed" and not WebhookDelivery.objects.filter(attempt=3).exists()

        with django_capture_on_commit_callbacks(execute=True):
            again = services.webhook_delivery_resend(delivery=last)
        assert (again.attempt, again.status, again.event_id, again.payload) == (3, "pending", last.event_id,
                                                                               last.payload)
        assert enqueued[-1][1] == (again.pk,)
        again = deliver(again.pk)
    assert (again.status, again.response_code) == ("succeeded", 200)
    assert [d["headers"]["pressroom-delivery-attempt"] for d in receiver.deliveries] == ["1", "2", "3"]
    assert len({d["headers"]["pressroom-event-id"] for d in receiver.deliveries}) == 1


def test_a_resent_attempt_that_fails_again_schedules_no_retry(allow_private, enqueued, settings):
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 5
    with Receiver(SECRET, statuses=[500, 500]) as receiver:
        subscription = subscribe(receiver.url)
        failed = deliver(pending_attempt(subscription, "evt_once").pk)
        newest = WebhookDelivery.objects.get(attempt=2)
        WebhookDelivery.objects.filter(pk=newest.pk).update(status="cancelled")  # switched off meanwhile
        newest.refresh_from_db()
        again = deliver(services.webhook_delivery_resend(delivery=newest).pk)
    assert failed.attempt == 1 and again.attempt == 6 and again.status == "failed"
    assert not WebhookDelivery.objects.filter(attempt=7).exists()


@pytest.mark.parametrize("case", ["switched off", "not the newest", "succeeded", "pending"])
def test_resending_is_refused_where_it_would_duplicate_or_go_nowhere(case, enqueued):
    subscription = subscribe("https://hooks.example.com/a")
    first = pending_attempt(subscription, "evt_no")
    WebhookDelivery.objects.filter(pk=first.pk).update(status="failed", finished_at=timezone.now())
    if case == "switched off":
        WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    elif case == "not the newest":
        WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_no",
                                       payload={}, attempt=2, scheduled_at=timezone.now())
    elif case == "succeeded":
        WebhookDelivery.objects.filter(pk=first.pk).update(status="succeeded")
    else:
        WebhookDelivery.objects.filter(pk=first.pk).update(status="pending", finished_at=None)
    first.refresh_from_db()
    expected = {"switched off": "the subscription is switched off", "not the newest": "attempt 2 came after it",
                "succeeded": "it is succeeded", "pending": "it is pending"}[case]
    with pytest.raises(services.ResendRefused, match=expected):
        services.webhook_delivery_resend(delivery=first)
    assert WebhookDelivery.objects.filter(event_id="evt_no").count() == (2 if case == "not the newest" else 1)


def test_a_test_event_reaches_a_switched_off_receiver_signed_and_counts_for_nothing(
        allow_private, enqueued, superuser, django_capture_on_commit_callbacks):
    with Receiver(SECRET, statuses=[200, 500]) as receiver:
        subscription = subscribe(receiver.url, active=False, consecutive_failures=3)
        with django_capture_on_commit_callbacks(execute=True):
            ping = services.webhook_subscription_ping(subscription=subscription, by=superuser)
        assert enqueued[-1][1] == (ping.pk,)
        answered = deliver(ping.pk)
        failing = deliver(services.webhook_subscription_ping(subscription=subscription, by=superuser).pk)
    got = receiver.deliveries[0]
    assert got["verified"] and got["headers"]["pressroom-event"] == "ping"
    assert got["json"]["type"] == "ping" and got["json"]["subscription"] == {"name": "Receiver",
                                                                            "events": ["task.completed"]}
    assert superuser.username in got["json"]["message"]
    assert (answered.status, answered.response_code) == ("succeeded", 200)
    assert (failing.status, failing.response_code) == ("failed", 500)
    assert WebhookDelivery.objects.count() == 2, "a failed test is not retried"
    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures, subscription.disabled_at) == (False, 3, None)


@pytest.fixture(params=[600, 30])
def retry_after_a_long_backoff(request, allow_private, enqueued, settings, django_capture_on_commit_callbacks):
    """A first attempt that failed with a 10-minute backoff, or the default 30 s: its retry, left
    to a one-off schedule (a job waiting 30 s would hold a worker that runs tasks)."""
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = request.param
    with Receiver(SECRET, statuses=[500]) as receiver:
        subscribe(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())
        with django_capture_on_commit_callbacks(execute=True):
            deliver(WebhookDelivery.objects.get().pk)
    return WebhookDelivery.objects.get(attempt=2)


def test_a_backoff_longer_than_a_job_may_wait_becomes_a_one_off_schedule(retry_after_a_long_backoff, enqueued):
    retry = retry_after_a_long_backoff
    schedule = Schedule.objects.get(func="publishing.webhooks.jobs.deliver_webhook")
    assert schedule.schedule_type == Schedule.ONCE and schedule.args == repr((retry.pk,))
    assert abs((schedule.next_run - retry.scheduled_at).total_seconds()) < 1
    assert retry.scheduled_at - timezone.now() > timedelta(seconds=20)
    assert [call for call in enqueued if call[1] == (retry.pk,)] == []  # no job waits for it


def test_a_scheduled_attempt_is_enqueued_by_the_scheduler_to_leave_no_result(retry_after_a_long_backoff, monkeypatch):
    from django_q import scheduler as django_q_scheduler

    Schedule.objects.filter(func="publishing.webhooks.jobs.deliver_webhook").update(next_run=timezone.now())
    sent = []
    monkeypatch.setattr(django_q_scheduler, "async_task", lambda func, *args, **kwargs: sent.append((func, args, kwargs)))
    monkeypatch.setattr(django_q_scheduler, "close_old_django_connections", lambda: None)  # the test's transaction

    django_q_scheduler.scheduler()

    [(args, kwargs)] = [(args, kwargs) for func, args, kwargs in sent if func == "publishing.webhooks.jobs.deliver_webhook"]
    assert args == (retry_after_a_long_backoff.pk,)
    assert kwargs["q_options"]["save"] is False and kwargs["q_options"]["task_name"] == "deliver_webhook"


def test_the_last_attempt_failing_schedules_no_more(allow_private, enqueued, settings,
                                                    django_capture_on_commit_callbacks):
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 2
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    subscription = subscribe("http://127.0.0.1:1/")  # nothing listens on port 1: both attempts fail to connect
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task())
    with django_capture_on_commit_callbacks(execute=True):
        deliver(WebhookDelivery.objects.get().pk)
        deliver(WebhookDelivery.objects.get(attempt=2).pk)
    assert list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status")) == [
        (1, "failed"), (2, "failed")]
    assert "connect" in WebhookDelivery.objects.get(attempt=2).error.lower()
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 2


def test_a_subscription_that_keeps_failing_is_disabled_and_can_be_re_enabled(
        allow_private, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_WEBHOOK_DISABLE_AFTER = 3
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 10
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    with Receiver(SECRET, statuses=[500] * 10) as receiver:
        subscription = subscribe(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())
        for attempt in (1, 2, 3):
            with django_capture_on_commit_callbacks(execute=True):
                deliver(WebhookDelivery.objects.get(attempt=attempt).pk)

        subscription.refresh_from_db()
        assert not subscription.active and subscription.disabled_at is not None
        assert subscription.consecutive_failures == 3
        assert "3 failed attempts in a row" in subscription.disabled_reason and "HTTP 500" in subscription.disabled_reason
        assert WebhookDelivery.objects.count() == 3  # no fourth attempt once disabled
        assert len(receiver.deliveries) == 3

        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())  # a disabled subscription gets no new deliveries
        assert WebhookDelivery.objects.count() == 3

        subscription = webhook_subscription_enable(subscription=subscription)
        assert (subscription.active, subscription.consecutive_failures, subscription.disabled_at,
                subscription.disabled_reason) == (True, 0, None, "")


def test_a_receiver_answering_410_gone_is_switched_off_at_once_and_not_retried(
        allow_private, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_WEBHOOK_DISABLE_AFTER = 15
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 5
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    with Receiver(SECRET, statuses=[410], answer=b"this hook was removed") as receiver:
        subscription = subscribe(receiver.url)
        waiting = pending_attempt(subscription, "evt_waiting")  # another event, due after the 410
        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())
        gone = WebhookDelivery.objects.exclude(pk=waiting.pk).get()
        with django_capture_on_commit_callbacks(execute=True):
            gone = deliver(gone.pk)
        waiting = deliver(waiting.pk)
        with django_capture_on_commit_callbacks(execute=True):
            finish(make_task())  # a switched-off subscription gets no new deliveries

    assert (gone.status, gone.response_code) == (DeliveryStatus.FAILED, 410)
    assert not WebhookDelivery.objects.filter(attempt=2).exists(), "a 410 is not retried"
    assert (waiting.status, waiting.error) == (DeliveryStatus.CANCELLED, "Not sent: the subscription is switched off.")
    assert WebhookDelivery.objects.count() == 2 and len(receiver.deliveries) == 1
    subscription.refresh_from_db()
    assert (subscription.active, subscription.state, subscription.consecutive_failures) == (False, "disabled", 1)
    assert subscription.disabled_reason.startswith("HTTP 410 Gone")
    assert "this hook was removed" in subscription.disabled_reason

    subscription = webhook_subscription_enable(subscription=subscription)  # the receiver came back
    assert (subscription.active, subscription.disabled_at, subscription.disabled_reason) == (True, None, "")


def test_a_ping_answered_410_gone_switches_the_subscription_off_too(allow_private, enqueued, superuser):
    with Receiver(SECRET, statuses=[410]) as receiver:
        subscription = subscribe(receiver.url, active=False)  # a ping reaches a paused subscription
        ping = deliver(services.webhook_subscription_ping(subscription=subscription, by=superuser).pk)
    assert (ping.status, ping.response_code) == (DeliveryStatus.FAILED, 410)
    assert WebhookDelivery.objects.count() == 1, "a ping is tried once"
    subscription.refresh_from_db()
    assert subscription.state == "disabled" and subscription.disabled_at is not None
    assert subscription.disabled_reason.startswith("HTTP 410 Gone")
    assert "attempt 1 of ping" in subscription.disabled_reason
    assert subscription.consecutive_failures == 0, "a ping counts neither for nor against the subscription"


@pytest.mark.parametrize("status", [404, 500])
def test_other_refusals_are_retried_and_leave_the_subscription_on(status, allow_private, enqueued, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    with Receiver(SECRET, statuses=[status]) as receiver:
        subscription = subscribe(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            deliver(pending_attempt(subscription, "evt_again").pk)
    assert WebhookDelivery.objects.get(attempt=2).status == DeliveryStatus.PENDING
    subscription.refresh_from_db()
    assert (subscription.active, subscription.disabled_at, subscription.consecutive_failures) == (True, None, 1)


def test_an_attempt_due_after_its_subscription_was_switched_off_is_cancelled_unsent(allow_private, enqueued):
    with Receiver(SECRET) as receiver:
        subscription = subscribe(receiver.url)
        delivery = pending_attempt(subscription, "evt_x")
        WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
        delivery = deliver(delivery.pk)
    assert delivery.status == DeliveryStatus.CANCELLED and receiver.deliveries == []


def test_a_second_job_for_the_same_attempt_sends_nothing(allow_private, enqueued):
    with Receiver(SECRET) as receiver:
        subscription = subscribe(receiver.url)
        delivery = pending_attempt(subscription, "evt_y")
        assert jobs.deliver_webhook(delivery.pk) == "succeeded"
        assert jobs.deliver_webhook(delivery.pk) == "not pending"
    assert len(receiver.deliveries) == 1


def test_the_guard_refuses_a_loopback_url_at_send_when_private_addresses_are_not_allowed(enqueued, settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = False
    with Receiver(SECRET) as receiver:
        subscription = subscribe(receiver.url)  # saved around the admin form's check, as old rows could be
        delivery = pending_attempt(subscription, "evt_z")
        delivery = deliver(delivery.pk)
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_code is None
    assert delivery.error.startswith("Refused:") and "not a public address" in delivery.error
    assert receiver.deliveries == []


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_the_post_into_a_get_is_not_followed(status, allow_private, enqueued):
    with Receiver(SECRET, statuses=[status], location="/hooks/elsewhere") as receiver:
        subscription = subscribe(receiver.url)
        delivery = pending_attempt(subscription, "evt_r")
        delivery = deliver(delivery.pk)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, status)
    assert "only 307 and 308 redirects keep a POST and are followed" in delivery.error
    assert [request["path"] for request in receiver.deliveries] == ["/hooks/pressroom"]


@pytest.mark.parametrize("status", [307, 308])
def test_a_redirect_that_keeps_the_post_is_followed_with_the_same_signed_body(status, allow_private, enqueued):
    with Receiver(SECRET, statuses=[status, 200], location="/hooks/moved") as receiver:
        subscription = subscribe(receiver.url)
        delivery = deliver(pending_attempt(subscription, "evt_m").pk)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 200)
    first, moved = receiver.deliveries
    assert (first["path"], moved["path"]) == ("/hooks/pressroom", "/hooks/moved")
    assert moved["verified"] and moved["body"] == first["body"]
    assert moved["headers"]["pressroom-event-id"] == "evt_m"


def test_redirects_are_followed_three_times_at_most(allow_private, enqueued):
    with Receiver(SECRET, statuses=[307] * 5, location="/hooks/again") as receiver:
        delivery = deliver(pending_attempt(subscribe(receiver.url), "evt_loop").pk)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, 307)
    assert delivery.error == "HTTP 307: redirected more than 3 times."
    assert len(receiver.deliveries) == 4


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/hooks",
                                    "http://localhost/hooks", "ftp://files.example.com/hooks"])
def test_a_redirect_target_passes_the_guard_again(target, enqueued, monkeypatch):
    """The first hop (the receiver, on loopback) is let through by address; the redirect's target
    goes through the real guard, and nothing is sent to it."""
    from tasks import url_guard

    with Receiver(SECRET, statuses=[307], location=target) as receiver:
        real = url_guard.public_addresses
        monkeypatch.setattr(url_guard, "public_addresses", lambda url: (
            (ipaddress.ip_address("127.0.0.1"),) if url == receiver.url else real(url)))
        delivery = deliver(pending_attempt(subscribe(receiver.url), "evt_g").pk)
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_code is None
    assert delivery.error.startswith(f"Refused (redirected to {target}): ")
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize(("location", "error"), [
    ("http://[oops/hooks", "HTTP 307: the redirect's Location is not a URL: http://[oops/hooks"),
    ("http://127.0.0.1:99999/hooks", "Refused (redirected to http://127.0.0.1:99999/hooks): "),
    ("http://me:secret@127.0.0.1/hooks", "Refused (redirected to http://me:secret@127.0.0.1/hooks): URLs with a user"),
])
def test_a_redirect_to_something_that_is_no_url_is_a_failed_attempt_that_says_so(location, error, allow_private,
                                                                                  enqueued):
    with Receiver(SECRET, statuses=[307], location=location) as receiver:
        delivery = deliver(pending_attempt(subscribe(receiver.url), "evt_bad").pk)
    assert delivery.status == DeliveryStatus.FAILED and delivery.error.startswith(error), delivery.error
    assert len(receiver.deliveries) == 1


def test_a_redirect_from_https_to_http_is_not_followed(enqueued, monkeypatch):
    """Sent over https, the event must not travel on in clear: the redirect's answer is refused
    before anything is sent to its target (no TLS server needed: the first answer is faked)."""
    answers = iter([httpx.Response(308, headers={"Location": "http://hooks.example.com/plain"})])
    monkeypatch.setattr(services, "checked_url", lambda url: url)
    monkeypatch.setattr(services, "send_to_checked_addresses", lambda *args, **kwargs: next(answers))
    delivery = deliver(pending_attempt(subscribe("https://hooks.example.com/secure"), "evt_s").pk)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, 308)
    assert delivery.error == "HTTP 308: a redirect from https to http is not followed."


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(allow_private, enqueued, settings):
    settings.PRESSROOM_WEBHOOK_TIMEOUT_SECONDS = 1
    with Receiver(SECRET, delay=2.5) as receiver:
        subscription = subscribe(receiver.url)
        delivery = pending_attempt(subscription, "evt_t")
        delivery = deliver(delivery.pk)
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_code is None
    assert "timeout" in delivery.error.lower()
    assert delivery.duration_ms < 2400


def test_a_delivery_url_and_its_secrets_stay_out_of_the_log(allow_private, enqueued, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver(SECRET) as receiver:
        subscription = subscribe(f"{receiver.url}/T000/B000/XXXXSECRETPATH?token=s3cr3t-query")
        delivery = pending_attempt(subscription, "evt_l")
        delivery = deliver(delivery.pk)
    assert delivery.status == DeliveryStatus.SUCCEEDED and receiver.deliveries
    assert "SECRETPATH" not in caplog.text and "s3cr3t" not in caplog.text


def test_a_receiver_dripping_its_headers_is_cut_off_at_twice_the_timeout(allow_private, enqueued, settings):
    """Each byte restarts httpx's read timeout: only the attempt's own limit ends it."""
    settings.PRESSROOM_WEBHOOK_TIMEOUT_SECONDS = 1
    with Receiver(SECRET, drip=0.2) as receiver:
        subscription = subscribe(receiver.url)
        delivery = pending_attempt(subscription, "evt_d")
        delivery = deliver(delivery.pk)
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_code is None
    assert delivery.error.startswith("No answer within 2 s")
    assert delivery.duration_ms < 3000


@pytest.fixture
def started_attempt(allow_private, enqueued, settings):
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    subscription = subscribe("http://127.0.0.1:1/")
    return pending_attempt(subscription, "evt_s")


def test_an_outcome_reported_after_the_sweep_gave_the_attempt_up_changes_nothing(started_attempt, monkeypatch):
    """A worker stalled past the sweep's patience (suspended, or a clock jump) reports at last:
    the sweep's record stands and its retry is the only one."""
    def send_while_the_sweep_runs(url, body, headers):
        later = timezone.now() + services.STALE_AFTER + timedelta(minutes=1)
        assert services.webhook_deliveries_recover(now=later)["abandoned"] == 1
        return services.SendResult(True, response_code=200)

    monkeypatch.setattr(services, "_post", send_while_the_sweep_runs)
    delivery = deliver(started_attempt.pk)
    assert (delivery.status, delivery.error) == (DeliveryStatus.FAILED, "The worker stopped during this attempt.")
    assert list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status")) == [
        (1, DeliveryStatus.FAILED), (2, DeliveryStatus.PENDING)]
    assert WebhookSubscription.objects.get().consecutive_failures == 1


def test_an_attempt_whose_subscription_is_deleted_meanwhile_ends_quietly(started_attempt, monkeypatch):
    def send_while_an_admin_deletes(url, body, headers):
        WebhookSubscription.objects.all().delete()
        return services.SendResult(False, error="HTTP 500")

    monkeypatch.setattr(services, "_post", send_while_an_admin_deletes)
    assert jobs.deliver_webhook(started_attempt.pk) == "not pending"
    assert not WebhookDelivery.objects.exists()


def test_approval_and_publication_events_are_delivered_with_their_decision(enqueued, reviewer, editor, settings,
                                                                           django_capture_on_commit_callbacks):
    from tests.editorial import completed_task

    from content.services.review import task_approve
    from publishing.services.posts import task_publish, task_unpublish

    settings.PRESSROOM_SITE_URL = "https://press.example.com"
    subscribe("https://hooks.example.com/a", events=["task.approved", "post.published", "post.unpublished"])
    task = completed_task(created_by=editor)
    with django_capture_on_commit_callbacks(execute=True):
        task_approve(task=task, by=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        task_publish(task=task, by=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        task_unpublish(task=task, by=reviewer, reason="Outdated.")
    bodies = [d.payload for d in WebhookDelivery.objects.order_by("id")]
    assert [b["type"] for b in bodies] == ["task.approved", "post.published", "post.unpublished"]
    assert bodies[0]["decision"]["actor"] == reviewer.username
    assert bodies[1]["post"]["slug"] and bodies[1]["post"]["id"]
    assert {body["task"]["url"] for body in bodies} == {
        f"https://press.example.com/admin/tasks/generationtask/{task.pk}/change/"}
    assert bodies[1]["post"]["url"] == f"https://press.example.com/posts/{bodies[1]['post']['slug']}/"
    assert "url" not in bodies[2]["post"], "an unpublished post has no page to link to"


def test_the_metrics_collector_counts_finished_attempts_by_event_and_outcome():
    subscription = subscribe("https://hooks.example.com/a")
    now = timezone.now()
    for number, status in enumerate(["succeeded", "failed", "failed", "pending"]):
        WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id=f"evt_{number}",
                                       payload={}, status=status, scheduled_at=now)
    [family] = WebhookDeliveriesCollector().collect()
    samples = {(s.labels["event"], s.labels["outcome"]): s.value for s in family.samples if s.name.endswith("_total")}
    assert samples == {("task.completed", "failed"): 2, ("task.completed", "succeeded"): 1}


def test_the_metrics_collector_counts_subscriptions_by_state_so_an_alert_can_watch_the_disabled_ones():
    subscribe("https://hooks.example.com/a")
    subscribe("https://hooks.example.com/b", active=False)
    for name in ("c", "d"):
        subscribe(f"https://hooks.example.com/{name}", active=False, consecutive_failures=15,
                  disabled_at=timezone.now(), disabled_reason="15 failed attempts in a row")
    [family] = WebhookSubscriptionsCollector().collect()
    assert family.name == "pressroom_webhook_subscriptions" and family.type == "gauge"
    assert {s.labels["state"]: s.value for s in family.samples} == {"active": 1, "paused": 1, "disabled": 2}


def test_the_readme_recipe_verifies_a_real_delivery(allow_private, enqueued):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [recipe] = re.findall(r"```python\n(import hashlib, hmac, time\n.*?)```", readme, re.S)
    namespace = {}
    exec(recipe, namespace)  # noqa: S102 - the README's own snippet, run as a receiver would
    with Receiver(SECRET) as receiver:
        subscription = subscribe(receiver.url)
        delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_m",
                                                  payload={"id": "evt_m", "type": "task.completed"},
                                                  scheduled_at=timezone.now())
        deliver(delivery.pk)
    [got] = receiver.deliveries
    assert namespace["verify"](SECRET, got["headers"]["pressroom-signature"], got["body"]) is True
    assert namespace["verify"](SECRET, got["headers"]["pressroom-signature"], got["body"][:-1]) is False
    timestamp = got["headers"]["pressroom-signature"].split(",")[0]
    assert namespace["verify"](SECRET, f"{timestamp},v1=é", got["body"]) is False  # not a TypeError


def test_the_minute_sweep_sends_attempts_whose_job_was_lost_and_fails_those_a_worker_abandoned(
        allow_private, enqueued, settings):
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    long_ago = timezone.now() - timedelta(minutes=10)
    with Receiver(SECRET) as receiver:
        subscription = subscribe(receiver.url)
        lost = WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_lost",
                                              payload={"id": "evt_lost"}, scheduled_at=long_ago)
        recent = WebhookDelivery.objects.create(subscription=subscription, event="task.completed",
                                                event_id="evt_recent", payload={"id": "evt_recent"},
                                                scheduled_at=timezone.now())
        abandoned = WebhookDelivery.objects.create(subscription=subscription, event="task.completed",
                                                   event_id="evt_dead", payload={"id": "evt_dead"},
                                                   scheduled_at=long_ago, started_at=long_ago)
        report = jobs.recover()
    assert report == {"sent": 1, "abandoned": 1, "digests": 0}
    assert [d["json"]["id"] for d in receiver.deliveries] == ["evt_lost"]
    assert WebhookDelivery.objects.get(pk=lost.pk).status == DeliveryStatus.SUCCEEDED
    assert WebhookDelivery.objects.get(pk=recent.pk).status == DeliveryStatus.PENDING  # its job may still come
    abandoned.refresh_from_db()
    assert abandoned.status == DeliveryStatus.FAILED and "stopped" in abandoned.error
    assert WebhookDelivery.objects.filter(event_id="evt_dead", attempt=2, status=DeliveryStatus.PENDING).exists()


def test_the_minute_sweep_is_scheduled_by_the_migration():
    """Checked through the migration's own function: a transactional test's flush may have removed
    the row the migration wrote."""
    from importlib import import_module

    from django.apps import apps
    from django.db.migrations import RunPython

    migration = import_module("publishing.migrations.0008_webhooks_and_notifications")
    assert any(isinstance(op, RunPython) and op.code is migration.create_schedule
               for op in migration.Migration.operations)
    Schedule.objects.filter(name="pressroom-webhooks-recover").delete()
    migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(name="pressroom-webhooks-recover")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "publishing.webhooks.jobs.recover", Schedule.MINUTES, 1)


def test_an_answer_with_nul_bytes_and_garbage_is_recorded_cut_and_cleaned(allow_private, enqueued):
    with Receiver(SECRET, statuses=[500], answer=b"\x00\xff\xfebroken\x00" * 5000) as receiver:
        subscription = subscribe(receiver.url)
        delivery = pending_attempt(subscription, "evt_n")
        delivery = deliver(delivery.pk)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, 500)
    assert "\x00" not in delivery.error and "broken" in delivery.error and len(delivery.error) <= 310


def test_the_project_verifier_agrees_with_the_standard_library_recipe():
    import time

    from publishing.webhooks.signing import signature_header, verify_signature
    from tests.publishing.webhook_receiver import verify

    body, now = b'{"id":"evt_1"}', int(time.time())
    header = signature_header(SECRET, now, body)
    assert verify(SECRET, header, body) and verify_signature(SECRET, header, body)
    stale = signature_header(SECRET, now - 301, body)
    assert not verify(SECRET, stale, body) and not verify_signature(SECRET, stale, body)
    for bad in ("", "t=abc,v1=00", "v1=00", f"t={now}", f"t={now},v1=é", f"t={now},v1=\u2603" * 2):
        assert not verify(SECRET, bad, body) and not verify_signature(SECRET, bad, body)
