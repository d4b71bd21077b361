"""Email notifications: reviewers hear of tasks awaiting review, admins of failures and time-outs
and of webhook subscriptions switched off after failures, in one digest per recipient per window
(locmem email backend: `mail.outbox`)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import IntegrityError, transaction
from django.utils import timezone

from publishing.webhooks import jobs, notifications
from publishing.webhooks.models import PendingNotification, WebhookDelivery, WebhookSubscription
from publishing.webhooks.services import webhook_subscription_enable, webhook_subscription_update
from tasks.events import emit
from tasks.models import EventKind
from tests.conftest import role
from tests.factories import make_task, make_user
from tests.publishing.webhook_receiver import Receiver
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db

DIGEST_JOB = "publishing.webhooks.jobs.send_digest"


@pytest.fixture
def people(db):
    reviewer = make_user("rita")
    reviewer.email = "rita@example.com"
    reviewer.save()
    reviewer.groups.add(role("Reviewers"))
    silent_reviewer = make_user("no-address")  # no email address: never mailed
    silent_reviewer.groups.add(role("Reviewers"))
    editor = make_user("eddie")
    editor.email = "eddie@example.com"
    editor.save()
    editor.groups.add(role("Editors"))
    admin = make_user("ada", is_superuser=True)
    admin.email = "ada@example.com"
    admin.save()
    return {"reviewer": reviewer, "editor": editor, "admin": admin}


def finish(task, status: str, message: str) -> None:
    task.status = status
    task.finished_at = timezone.now()
    task.save()
    emit(task, EventKind.STATUS, message=message)


def digest_jobs(enqueued) -> list:
    return [call for call in enqueued if call[0] == DIGEST_JOB]


def test_ten_tasks_completing_within_the_window_make_one_digest_for_each_reviewer(
        people, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 5
    settings.PRESSROOM_SITE_URL = "https://press.example.com"
    tasks = [make_task(topic=f"Composting lesson number {n}") for n in range(10)]
    for task in tasks:
        with django_capture_on_commit_callbacks(execute=True):
            finish(task, "completed", "Completed.")

    assert mail.outbox == []  # nothing is sent before the window ends
    [job] = digest_jobs(enqueued)  # one job for the one reviewer with an address, started by the first task
    assert job[1] == (people["reviewer"].pk,) and "not_before" in job[2]
    assert jobs.send_digest(people["reviewer"].pk) == 10

    [email] = mail.outbox
    assert email.to == ["rita@example.com"]
    assert email.subject == "Pressroom: 10 tasks awaiting review"
    for n in range(10):
        assert f"Composting lesson number {n}" in email.body
    assert f"https://press.example.com/admin/tasks/generationtask/{tasks[0].pk}/change/" in email.body, "a link"
    assert not PendingNotification.objects.filter(sent_at__isnull=True).exists()
    assert jobs.send_digest(people["reviewer"].pk) == 0 and len(mail.outbox) == 1  # a second job sends nothing


@pytest.mark.django_db(transaction=True)
def test_an_account_deleted_while_a_task_finishes_does_not_cost_the_other_reviewers_their_line(
        people, enqueued, monkeypatch, settings):
    ensure_seed_data()  # the catalog a task needs, which an earlier transactional test's flush removed
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 5  # the digest's job goes to the broker (`enqueued`)
    other = make_user("ravi")
    other.email = "ravi@example.com"
    other.save()
    other.groups.add(role("Reviewers"))
    read = notifications._recipient_ids

    def read_then_deleted(reason):
        found = read(reason)
        people["reviewer"].delete()  # an admin's delete commits between the read and the lines
        return sorted(found)

    monkeypatch.setattr(notifications, "_recipient_ids", read_then_deleted)
    finish(make_task(topic="Composting"), "completed", "Completed.")

    assert list(PendingNotification.objects.values_list("recipient_id", flat=True)) == [other.pk]
    assert [args for _, args, _ in digest_jobs(enqueued)] == [(other.pk,)]


def test_after_a_digest_went_out_the_next_task_starts_a_new_one(people, enqueued, settings,
                                                                django_capture_on_commit_callbacks):
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(), "completed", "Completed.")
    jobs.send_digest(people["reviewer"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(topic="The second piece of the day"), "completed", "Completed.")
    assert len(digest_jobs(enqueued)) == 2
    jobs.send_digest(people["reviewer"].pk)
    assert [m.subject for m in mail.outbox] == ["Pressroom: 1 task awaiting review"] * 2
    assert "The second piece of the day" in mail.outbox[1].body


def test_admins_hear_of_failures_and_time_outs_and_reviewers_do_not(people, enqueued, settings,
                                                                    django_capture_on_commit_callbacks):
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(topic="A piece that broke"), "failed", "Gave up after 3 attempts. Last error: HTTP 500")
        finish(make_task(topic="A piece that hung"), "timed_out", "Timed out: the task ran past its 900s deadline")
    assert [call[1] for call in digest_jobs(enqueued)] == [(people["admin"].pk,)]
    jobs.send_digest(people["admin"].pk)
    [email] = mail.outbox
    assert email.to == ["ada@example.com"] and email.subject == "Pressroom: 2 tasks failed or timed out"
    assert "A piece that broke — Gave up after 3 attempts" in email.body
    assert "Timed out (1):" in email.body and "A piece that hung" in email.body


def test_a_completed_task_already_decided_and_other_events_notify_nobody(people, enqueued,
                                                                         django_capture_on_commit_callbacks):
    task = make_task(approval_status="approved")
    with django_capture_on_commit_callbacks(execute=True):
        finish(task, "completed", "Completed.")
        emit(make_task(), EventKind.STATUS, message="Attempt 1 of 3 started.")
        finish(make_task(), "cancelled", "Cancelled by eddie before it started.")
    assert not PendingNotification.objects.exists() and digest_jobs(enqueued) == []


def test_notifications_can_be_switched_off(people, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_NOTIFY_EMAILS = False
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(), "failed", "Gave up.")
    assert not PendingNotification.objects.exists() and digest_jobs(enqueued) == []


def test_the_minute_sweep_sends_a_digest_whose_job_was_lost(people, enqueued, settings,
                                                            django_capture_on_commit_callbacks):
    from datetime import timedelta

    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(topic="A piece whose digest job vanished"), "completed", "Completed.")
    assert jobs.recover()["digests"] == 0  # not overdue yet: its job may still come
    PendingNotification.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert jobs.recover()["digests"] == 1
    [email] = mail.outbox
    assert "A piece whose digest job vanished" in email.body


def test_the_sweep_forgets_lines_mailed_more_than_a_month_ago(people):
    from datetime import timedelta

    task = make_task()
    old, recent = (PendingNotification.objects.create(recipient=people["reviewer"], task=task, reason="awaits_review",
                                                      summary=name, sent_at=timezone.now() - timedelta(days=days))
                   for name, days in (("old", 31), ("recent", 29)))
    jobs.recover()
    assert list(PendingNotification.objects.values_list("summary", flat=True)) == ["recent"]


def test_who_is_concerned_is_read_afresh_for_every_task(people, enqueued, django_capture_on_commit_callbacks):
    """The recipients' query is built once per process; its answer is not kept: a reviewer who
    joins the role, or an address cleared, counts from the next task on."""
    first, second = make_task(topic="Before the newcomer"), make_task(topic="After the newcomer")
    with django_capture_on_commit_callbacks(execute=True):
        finish(first, "completed", "Completed.")
    newcomer = make_user("nina")
    newcomer.email = "nina@example.com"
    newcomer.save()
    newcomer.groups.add(role("Reviewers"))
    people["reviewer"].email = ""
    people["reviewer"].save()
    with django_capture_on_commit_callbacks(execute=True):
        finish(second, "completed", "Completed.")
    lines = PendingNotification.objects.order_by("id").values_list("recipient__username", "task__topic")
    assert list(lines) == [("rita", "Before the newcomer"), ("nina", "After the newcomer")]


FORGING_ADDRESS = '"a\x0bBcc:victim@evil.example"@example.com'  # Django's EmailValidator accepts it


class SerializingBackend(locmem.EmailBackend):
    """The outbox, after writing each message as the SMTP backend does (where headers are checked)."""

    def send_messages(self, messages):
        for message in messages:
            message.message().as_bytes(linesep="\r\n")
        return super().send_messages(messages)


def test_an_address_no_header_can_hold_is_skipped_with_a_warning_and_the_others_still_get_theirs(
        people, enqueued, settings, django_capture_on_commit_callbacks, caplog):
    from datetime import timedelta

    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 60
    settings.EMAIL_BACKEND = f"{__name__}.SerializingBackend"
    forger = make_user("forger")
    forger.email = FORGING_ADDRESS
    forger.save()
    forger.groups.add(role("Reviewers"))
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(topic="A piece for two reviewers"), "completed", "Completed.")
    PendingNotification.objects.update(created_at=timezone.now() - timedelta(minutes=10))

    assert jobs.recover()["digests"] == 2

    [email] = mail.outbox
    assert email.to == ["rita@example.com"]
    assert not PendingNotification.objects.filter(sent_at__isnull=True).exists()  # not retried every minute
    assert any(record.levelname == "WARNING" and f"user {forger.pk}" in record.getMessage()
               for record in caplog.records)
    assert jobs.recover()["digests"] == 0


def test_a_digest_the_mail_server_refuses_does_not_stop_the_sweep_for_the_others(
        people, enqueued, settings, django_capture_on_commit_callbacks, monkeypatch):
    from datetime import timedelta

    from publishing.webhooks import notifications

    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(topic="A failure for the admin"), "failed", "Provider down.")
        finish(make_task(topic="A piece for review"), "completed", "Completed.")
    PendingNotification.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    real_send = notifications.send_mail

    def refusing_the_admin(subject, body, sender, to):
        if to == ["ada@example.com"]:
            raise OSError("mail server refused")
        return real_send(subject, body, sender, to)

    monkeypatch.setattr(notifications, "send_mail", refusing_the_admin)

    assert jobs.recover()["digests"] == 1

    [email] = mail.outbox
    assert email.to == ["rita@example.com"]
    assert list(PendingNotification.objects.filter(sent_at__isnull=True).values_list("recipient__username", flat=True)
                ) == ["ada"]  # kept for the next sweep


def test_line_breaks_in_a_title_or_failure_message_cannot_forge_lines_in_a_digest(
        people, enqueued, settings, django_capture_on_commit_callbacks):
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 0
    task = make_task(topic="A topic long enough", title="Ours\r\n- Forged\nline\u2028and\x85more")
    with django_capture_on_commit_callbacks(execute=True):
        finish(task, "failed", "Provider down.\r\n- Forged: click http://evil.example")

    [line] = PendingNotification.objects.all()
    assert line.summary == "Ours - Forged line and more — Provider down. - Forged: click http://evil.example"
    jobs.send_digest(people["admin"].pk)
    [email] = mail.outbox
    assert [text for text in email.body.splitlines() if "Forged" in text] == [
        f"- {line.summary} ({line.created_at:%Y-%m-%d %H:%M %Z}) "
        f"{settings.PRESSROOM_SITE_URL}/admin/tasks/generationtask/{task.pk}/change/"]


@pytest.mark.parametrize("four_eyes", [True, False])
def test_a_reviewer_hears_of_their_own_task_only_when_they_may_decide_on_it(
        people, enqueued, settings, django_capture_on_commit_callbacks, four_eyes):
    settings.PRESSROOM_FOUR_EYES = four_eyes
    task = make_task(topic="Composting by a reviewer", created_by=people["reviewer"])
    with django_capture_on_commit_callbacks(execute=True):
        finish(task, "completed", "Completed.")
    told = set(PendingNotification.objects.values_list("recipient_id", flat=True))
    assert told == (set() if four_eyes else {people["reviewer"].pk})


def test_the_current_versions_author_is_read_once_however_many_reviewers_there_are(
        people, enqueued, settings, django_capture_on_commit_callbacks):
    """The four-eyes filter runs in the worker after every finished task: one read of who wrote
    the current version, not one per reviewer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.PRESSROOM_FOUR_EYES = True
    for index in range(5):
        reviewer = make_user(f"reviewer-{index}")
        reviewer.email = f"reviewer-{index}@example.com"
        reviewer.save()
        reviewer.groups.add(role("Reviewers"))
    task = make_task(topic="Composting", created_by=people["editor"])
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        finish(task, "completed", "Completed.")
    assert PendingNotification.objects.count() == 6  # rita and the five
    version_reads = [q["sql"] for q in queries.captured_queries if 'FROM "content_contentversion"' in q["sql"]]
    assert len(version_reads) == 1, version_reads


# --- webhook subscriptions switched off after failures -----------------------------------------------
SECRET = "whsec_test-secret-of-some-length"
SECRET_TAIL = "/T000/B000/XXXXSECRETPATH?token=s3cr3t-query"  # a URL whose path and query are its secret


@pytest.fixture
def failing_fast(settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    settings.PRESSROOM_WEBHOOK_DISABLE_AFTER = 2
    settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS = 10
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 0
    settings.PRESSROOM_SITE_URL = "https://press.example.com"


def subscribe(url: str, name: str = "Chat room") -> WebhookSubscription:
    return WebhookSubscription.objects.create(name=name, url=url, events=["task.completed"], secret=SECRET)


def fail_until_disabled(subscription: WebhookSubscription, settings) -> WebhookSubscription:
    """Attempts of one event, each failing, until PRESSROOM_WEBHOOK_DISABLE_AFTER switch it off."""
    event_id = f"evt_{subscription.pk}_{subscription.updated_at.timestamp()}"
    WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id=event_id,
                                   payload={"id": event_id}, scheduled_at=timezone.now())
    for number in range(1, settings.PRESSROOM_WEBHOOK_DISABLE_AFTER + 1):
        jobs.deliver_webhook(WebhookDelivery.objects.get(event_id=event_id, attempt=number).pk)
    subscription.refresh_from_db()
    assert subscription.state == "disabled"
    return subscription


def answering_410(subscription: WebhookSubscription) -> WebhookSubscription:
    attempt = WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_gone",
                                             payload={"id": "evt_gone"}, scheduled_at=timezone.now())
    jobs.deliver_webhook(attempt.pk)
    subscription.refresh_from_db()
    return subscription


def test_a_subscription_switched_off_after_failures_is_in_the_admins_next_digest_without_its_url_secrets(
        people, enqueued, failing_fast, settings, django_capture_on_commit_callbacks):
    with Receiver(SECRET, statuses=[500] * 5, answer=b"the receiver is down") as receiver:
        subscription = subscribe(receiver.url + SECRET_TAIL)
        with django_capture_on_commit_callbacks(execute=True):
            fail_until_disabled(subscription, settings)

    [line] = PendingNotification.objects.all()
    assert (line.recipient, line.task, line.subscription, line.reason) == (
        people["admin"], None, subscription, "webhook_disabled")
    assert [call[1] for call in digest_jobs(enqueued)] == [(people["admin"].pk,)]  # reviewers are not told
    assert jobs.send_digest(people["admin"].pk) == 1
    [email] = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == "Pressroom: 1 webhook subscription switched off"
    assert "Webhook subscriptions switched off after failures (1):" in email.body
    [text] = [text for text in email.body.splitlines() if text.startswith("- ")]
    origin = receiver.url.removesuffix("/hooks/pressroom")
    assert text.startswith(f"- Chat room ({origin}/…): 2 failed attempts in a row; the last: HTTP 500: "
                           f"the receiver is down (")
    assert text.endswith(f" https://press.example.com/admin/publishing/webhooksubscription/{subscription.pk}/change/")
    assert "SECRETPATH" not in email.body and "s3cr3t" not in email.body and "hooks/pressroom" not in email.body


def test_a_receiver_answering_410_gone_puts_its_subscription_in_the_admins_digest(
        people, enqueued, failing_fast):
    echo = f"this hook was removed: /hooks/pressroom{SECRET_TAIL}".encode()  # the receiver quotes its path
    with Receiver(SECRET, statuses=[410], answer=echo) as receiver:
        subscription = answering_410(subscribe(receiver.url + SECRET_TAIL, name="Old CRM"))
    assert subscription.state == "disabled"
    jobs.send_digest(people["admin"].pk)
    [email] = mail.outbox
    assert email.subject == "Pressroom: 1 webhook subscription switched off"
    [text] = [text for text in email.body.splitlines() if text.startswith("- ")]
    assert text.startswith(f"- Old CRM ({receiver.url.removesuffix('/hooks/pressroom')}/…): HTTP 410 Gone: ")
    assert "the answer: HTTP 410: this hook was removed: … (" in text
    assert f"/admin/publishing/webhooksubscription/{subscription.pk}/change/" in text
    assert "SECRETPATH" not in email.body and "s3cr3t" not in email.body


def test_a_subscription_paused_by_hand_tells_nobody_and_one_disabled_again_after_re_enabling_tells_again(
        people, enqueued, failing_fast, settings):
    paused = subscribe("http://127.0.0.1:1/", name="Paused")  # nothing listens on port 1: every attempt fails
    webhook_subscription_update(subscription=paused, active=False)
    jobs.deliver_webhook(WebhookDelivery.objects.create(  # an attempt due after the pause is cancelled unsent
        subscription=paused, event="task.completed", event_id="evt_p", payload={}, scheduled_at=timezone.now()).pk)
    flaky = fail_until_disabled(subscribe("http://127.0.0.1:1/", name="Flaky"), settings)
    flaky = webhook_subscription_enable(subscription=flaky)
    fail_until_disabled(flaky, settings)
    webhook_subscription_update(subscription=flaky, active=True)  # re-enabled by ticking Active, then paused:
    webhook_subscription_update(subscription=flaky, active=False)  # no line for the pause
    assert list(PendingNotification.objects.values_list("subscription__name", flat=True)) == ["Flaky", "Flaky"]
    assert jobs.send_digest(people["admin"].pk) == 2
    assert mail.outbox[0].subject == "Pressroom: 2 webhook subscriptions switched off"
    assert "Paused" not in mail.outbox[0].body


def test_only_active_admins_with_an_address_hear_of_a_subscription_switched_off(people, enqueued, failing_fast,
                                                                              settings):
    make_user("admin-without-address", is_superuser=True)
    retired = make_user("retired-admin", is_superuser=True)
    retired.email, retired.is_active = "retired@example.com", False
    retired.save()
    fail_until_disabled(subscribe("http://127.0.0.1:1/"), settings)
    assert list(PendingNotification.objects.values_list("recipient__username", flat=True)) == ["ada"]


def test_no_line_for_a_subscription_switched_off_while_notifications_are_off(people, enqueued, failing_fast,
                                                                            settings):
    settings.PRESSROOM_NOTIFY_EMAILS = False
    fail_until_disabled(subscribe("http://127.0.0.1:1/", name="While off"), settings)
    settings.PRESSROOM_NOTIFY_EMAILS = True
    fail_until_disabled(subscribe("http://127.0.0.1:1/", name="While on"), settings)
    assert list(PendingNotification.objects.values_list("subscription__name", flat=True)) == ["While on"]


def test_switching_a_subscription_off_that_is_rolled_back_adds_no_line(people, enqueued, failing_fast):
    with Receiver(SECRET, statuses=[410, 410]) as receiver:
        subscription = subscribe(receiver.url)
        with pytest.raises(RuntimeError), transaction.atomic():
            assert answering_410(subscription).state == "disabled"
            raise RuntimeError("the transaction that switched it off is rolled back")
        subscription.refresh_from_db()
        assert subscription.state == "active" and not PendingNotification.objects.exists()
        WebhookDelivery.objects.all().delete()
        assert answering_410(subscription).state == "disabled"
    assert PendingNotification.objects.get().subscription == subscription


def test_a_digest_of_task_and_subscription_lines_says_both_and_counts_what_it_does_not_list(
        people, enqueued, failing_fast, settings, monkeypatch, django_capture_on_commit_callbacks):
    from publishing.webhooks import notifications

    monkeypatch.setattr(notifications, "DIGEST_MAX_LINES", 2)
    with django_capture_on_commit_callbacks(execute=True):
        finish(make_task(topic="A piece that broke"), "failed", "Provider down.")
    for name in ("First receiver", "Second receiver"):
        fail_until_disabled(subscribe("http://127.0.0.1:1/", name=name), settings)
    jobs.send_digest(people["admin"].pk)
    [email] = mail.outbox
    assert email.subject == "Pressroom: 1 task failed or timed out, 2 webhook subscriptions switched off"
    assert "Failed (1):" in email.body and "A piece that broke — Provider down." in email.body
    assert "Webhook subscriptions switched off after failures (2):" in email.body
    assert "First receiver (http://127.0.0.1:1): 2 failed attempts in a row; the last: Could not connect" in email.body
    assert "Second receiver" not in email.body
    assert "- and 1 more: https://press.example.com/admin/publishing/webhooksubscription/?state=disabled" in email.body


def test_a_subscription_name_cannot_forge_lines_in_a_digest(people, enqueued, failing_fast, settings):
    fail_until_disabled(subscribe("http://127.0.0.1:1/", name="Ours\r\n- Forged\u2028line\x1b[31m"), settings)
    jobs.send_digest(people["admin"].pk)
    [email] = mail.outbox
    assert [text for text in email.body.splitlines() if "Forged" in text][0].startswith(
        "- Ours - Forged line [31m (http://127.0.0.1:1): ")


def test_the_database_holds_a_line_to_exactly_one_target_with_a_reason_that_fits_it(people):
    task, subscription = make_task(), subscribe("https://hooks.example.com/x")
    line = {"recipient": people["admin"], "summary": "A line"}
    for refused in ({"task": task, "subscription": subscription, "reason": "failed"},
                    {"task": task, "subscription": subscription, "reason": "webhook_disabled"},
                    {"reason": "failed"},
                    {"reason": "webhook_disabled"},
                    {"task": task, "reason": "webhook_disabled"},
                    {"subscription": subscription, "reason": "failed"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            PendingNotification.objects.create(**line, **refused)
    PendingNotification.objects.create(**line, task=task, reason="failed")
    PendingNotification.objects.create(**line, subscription=subscription, reason="webhook_disabled")
    subscription.delete()  # its lines go with it
    assert list(PendingNotification.objects.values_list("task", "subscription")) == [(task.pk, None)]


def test_a_line_that_cannot_be_added_is_logged_and_the_subscription_is_switched_off_all_the_same(
        people, enqueued, failing_fast, settings, monkeypatch, caplog):
    from publishing.webhooks import services

    def broken(*, subscription):
        PendingNotification.objects.create(recipient=people["admin"], subscription=subscription, reason="failed",
                                           summary="refused by the database")

    monkeypatch.setattr(services, "notifications_queue_subscription_disabled", broken)
    subscription = fail_until_disabled(subscribe("http://127.0.0.1:1/"), settings)
    assert subscription.disabled_reason.startswith("2 failed attempts in a row")
    assert list(WebhookDelivery.objects.order_by("attempt").values_list("status", flat=True)) == [
        "failed", "failed"]  # the attempt that switched it off is recorded
    assert not PendingNotification.objects.exists()
    assert f"Could not tell the admins that webhook subscription {subscription.pk} was disabled" in caplog.text
