"""Notification digests under hostile content and volume: a burst of thousands of lines, titles
and failure messages carrying control and layout characters, a mail server that is down."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from publishing.webhooks import jobs
from publishing.webhooks.models import NotificationReason, PendingNotification
from tasks.events import emit
from tasks.models import EventKind
from tests.conftest import role
from tests.factories import make_task, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    admin = make_user("ada", is_superuser=True)
    admin.email = "ada@example.com"
    admin.save()
    return admin


def test_a_burst_of_five_thousand_lines_makes_one_email_of_bounded_size_and_all_are_marked_sent(admin, settings):
    settings.PRESSROOM_SITE_URL = "https://press.example.com"
    task = make_task(topic="A task that failed many times")
    PendingNotification.objects.bulk_create(
        [PendingNotification(recipient=admin, task=task, reason=NotificationReason.FAILED,
                             summary=f"Line {n} " + "x" * 480) for n in range(5000)])

    assert jobs.send_digest(admin.pk) == 5000

    [email] = mail.outbox
    assert email.subject == "Pressroom: 5000 tasks failed or timed out"
    assert "Failed (5000):" in email.body
    assert len(email.body) < 100_000
    assert "Line 0 " in email.body and "Line 4999 " not in email.body
    assert "- and 4900 more: https://press.example.com/admin/tasks/generationtask/" in email.body.splitlines()
    assert not PendingNotification.objects.filter(sent_at__isnull=True).exists()


def test_control_and_layout_characters_of_a_title_or_failure_message_never_reach_a_digest(
        admin, enqueued, settings, django_capture_on_commit_callbacks):
    """A provider's error is kept as it came (NUL aside): an escape sequence would drive the
    terminal of an admin reading mail there, and a right-to-left override would show the rest of
    the line, the task's link included, reversed."""
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 0
    task = make_task(topic="A topic long enough", title="Ours\u202egpj.exe\x07")
    task.status, task.finished_at = "failed", timezone.now()
    task.save()
    with django_capture_on_commit_callbacks(execute=True):
        emit(task, EventKind.STATUS, message="Provider said \x1b[2J\x1b]0;owned\x07 \u2066moc.live\u2069 \x9b")

    [line] = PendingNotification.objects.all()
    assert line.summary == "Ours gpj.exe — Provider said [2J ]0;owned moc.live"


def test_a_digest_the_smtp_server_cannot_take_is_kept_whole_for_the_sweep(admin, settings):
    """SMTP down: the job fails (django-q2 records it) and takes nothing with it; the minute
    sweep sends the same lines once the server is back."""
    import socket
    from datetime import timedelta

    task = make_task(topic="A task that failed")
    PendingNotification.objects.create(recipient=admin, task=task, reason=NotificationReason.FAILED,
                                       summary="A task that failed — Provider down.")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed.getsockname()[1], 1
    try:
        with pytest.raises(ConnectionRefusedError):
            jobs.send_digest(admin.pk)
    finally:
        closed.close()
    assert PendingNotification.objects.filter(sent_at__isnull=True).count() == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    PendingNotification.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert jobs.recover()["digests"] == 1
    [email] = mail.outbox
    assert "A task that failed — Provider down." in email.body


def test_a_mail_server_dripping_its_answers_fails_the_digest_at_the_deadline_and_keeps_its_lines(
        admin, settings, caplog):
    """A server sending its greeting a byte at a time, each byte inside EMAIL_TIMEOUT, held the
    job (and the recipient's lock) until django-q2 killed it; now the sending ends at
    PRESSROOM_EMAIL_DEADLINE_SECONDS and fails as a refusal does: the job fails, the sweep logs it,
    the lines wait for the next try."""
    from datetime import timedelta

    from config.smtp_deadline import SMTPDeadlineExceeded
    from tests.config.smtp_server import DrippingSMTPServer

    PendingNotification.objects.create(recipient=admin, task=make_task(topic="A task that failed"),
                                       reason=NotificationReason.FAILED, summary="A task that failed — Provider down.")
    settings.EMAIL_BACKEND = "config.smtp_deadline.DeadlineSMTPBackend"
    settings.EMAIL_TIMEOUT, settings.PRESSROOM_EMAIL_DEADLINE_SECONDS = 2, 1
    with DrippingSMTPServer(drip_at="greeting") as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        with pytest.raises(SMTPDeadlineExceeded):
            jobs.send_digest(admin.pk)
        assert server.done.wait(10) and server.hung_up
        server.done.clear()

        PendingNotification.objects.update(created_at=timezone.now() - timedelta(minutes=10))
        assert jobs.recover()["digests"] == 0
        assert server.done.wait(10) and server.hung_up
    assert "the next sweep tries again" in caplog.text and "SMTPDeadlineExceeded" in caplog.text
    assert PendingNotification.objects.filter(sent_at__isnull=True).count() == 1
