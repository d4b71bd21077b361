"""The daily housekeeping schedule run by real clusters: two `manage.py qcluster` processes share
the schedule table, the one whose scheduler takes the due schedule first runs the job, and it runs
once; the schedule moves on by a day.

django-q2's sentinel calls its scheduler every 30 s or so, so this test takes about that long.
"""

from __future__ import annotations

import importlib
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule, Task
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from publishing.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.factories import make_user
from tests.processes import Cluster, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HOUSEKEEPING = "pressroom-housekeeping"


def housekeeping_schedule() -> Schedule:
    """The schedule as its migration creates it (a transactional test's database was flushed)."""
    migration = importlib.import_module("publishing.migrations.0010_housekeeping_schedule")
    migration.create_schedule(apps, None)
    return Schedule.objects.get(name=HOUSEKEEPING)


def test_two_clusters_run_the_due_housekeeping_once_and_schedule_it_a_day_later(tmp_path, settings):
    now = timezone.now()
    schedule = housekeeping_schedule()
    Schedule.objects.filter(pk=schedule.pk).update(next_run=now - timedelta(minutes=1))
    subscription = WebhookSubscription.objects.create(
        name="Receiver", url="https://hooks.example.com/in", events=["task.completed"], secret="whsec_cluster-secret")
    old, recent = (WebhookDelivery.objects.create(
        subscription=subscription, event="task.completed", event_id=f"e-{days}", payload={},
        status=DeliveryStatus.SUCCEEDED, scheduled_at=now, finished_at=now - timedelta(days=days),
    ) for days in (settings.PRESSROOM_DELIVERY_HISTORY_DAYS + 1, 1))
    OutstandingToken.objects.create(user=make_user("housekeeper"), jti="expired", token="t1",
                                    created_at=now - timedelta(days=3), expires_at=now - timedelta(days=2))

    clusters = [Cluster(tmp_path, name=f"housekeeping-{number}", workers=1) for number in (1, 2)]
    try:
        def ran():
            connection.close()
            return Task.objects.filter(func="publishing.jobs.housekeeping").exists()

        wait_for(ran, timeout=120, interval=1,
                 message="a cluster to run the housekeeping job\n" + "\n".join(c.output[-2000:] for c in clusters))
        time.sleep(5)  # the other cluster's scheduler had its chance too
    finally:
        for cluster in clusters:
            cluster.stop()

    runs = list(Task.objects.filter(func="publishing.jobs.housekeeping"))
    assert len(runs) == 1, "the due schedule ran once, whichever cluster took it"
    assert runs[0].success, runs[0].result
    assert runs[0].result == {"webhook_deliveries": 1, "notifications": 0, "expired_tokens": 1, "unreferenced_media": 0}
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not WebhookDelivery.objects.filter(pk=old.pk).exists()
    assert not OutstandingToken.objects.exists()
    schedule.refresh_from_db()
    assert schedule.next_run > now + timedelta(hours=23), schedule.next_run  # tomorrow, not again today
