"""A mail server that takes its time must not hold up the worker that finished a task.

The digest is sent inside the transaction that holds its recipient's lock; adding a line for the
same recipient (after every finished task, in the worker that finished it) must not wait for that
send. The slow server is a backend held on an event, so nothing here depends on timing."""

from __future__ import annotations

import threading

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections
from django.utils import timezone
from django_q.models import Schedule

from publishing.webhooks import jobs
from publishing.webhooks.models import NotificationReason, PendingNotification
from tasks.events import emit
from tasks.models import EventKind
from tests.factories import make_task, make_user
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db(transaction=True)

DIGEST_JOB = "publishing.webhooks.jobs.send_digest"  # due after the window: a one-off schedule
SENDING, RELEASE = threading.Event(), threading.Event()


class HeldBackend(EmailBackend):
    """A mail server that accepts a message only once the test lets it."""

    def send_messages(self, messages):
        SENDING.set()
        RELEASE.wait(30)
        return super().send_messages(messages)


def test_a_task_finishing_while_a_digest_to_the_same_admin_is_being_sent_does_not_wait_for_it(settings):
    ensure_seed_data()  # the offline model, which a transactional test run before this one flushed
    settings.EMAIL_BACKEND = f"{__name__}.HeldBackend"
    settings.PRESSROOM_NOTIFY_DIGEST_SECONDS = 60
    admin = make_user("ada", is_superuser=True)
    admin.email = "ada@example.com"
    admin.save()
    PendingNotification.objects.create(recipient=admin, task=make_task(topic="A first task that failed"),
                                       reason=NotificationReason.FAILED, summary="A first task that failed")
    SENDING.clear()
    RELEASE.clear()

    def send():
        try:
            jobs.send_digest(admin.pk)
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert SENDING.wait(10)
        with connection.cursor() as cursor:  # before the fix this waited for the send; bounded here
            cursor.execute("SET lock_timeout = '2s'")
        task = make_task(topic="A second task that failed")
        task.status, task.finished_at = "failed", timezone.now()
        task.save()
        emit(task, EventKind.STATUS, message="Provider down.")
        added = list(PendingNotification.objects.filter(task=task).values_list("recipient_id", "sent_at"))
    finally:
        RELEASE.set()
        sender.join(30)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = 0")

    assert added == [(admin.pk, None)]
    assert list(Schedule.objects.filter(func=DIGEST_JOB).values_list("args", flat=True)) == [repr((admin.pk,))]
    assert list(PendingNotification.objects.filter(sent_at__isnull=True).values_list("task", flat=True)) == [task.pk]
