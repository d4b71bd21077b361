"""Email notifications: reviewers hear of tasks awaiting review, admins of failures and time-outs,
in one digest per recipient per window (locmem email backend: `mail.outbox`)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.utils import timezone

from publishing.webhooks import jobs
from publishing.webhooks.models import PendingNotification
from tasks.events import emit
from tasks.models import EventKind
from tests.conftest import role
from tests.factories import make_task, make_user

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
