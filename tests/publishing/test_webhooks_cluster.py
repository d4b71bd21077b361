"""Webhooks and notifications end to end, with a real django-q2 cluster: a task runs, the
receiver (standard library, on 127.0.0.1) gets a signed `task.completed`, and the reviewer's
digest is written by the console email backend into the cluster's log."""

from __future__ import annotations

import pytest
from django.db import connection

from publishing.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.conftest import role
from tests.factories import make_user, submit_task
from tests.processes import Cluster, wait_for
from tests.publishing.webhook_receiver import Receiver
from tests.seed import ensure_seed_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_cluster-test-secret"


def test_a_cluster_delivers_the_signed_webhook_and_the_review_digest(tmp_path):
    ensure_seed_data()
    reviewer = make_user("rita-cluster")
    reviewer.email = "rita@example.com"
    reviewer.save()
    reviewer.groups.add(role("Reviewers"))
    with Receiver(SECRET) as receiver:
        WebhookSubscription.objects.create(name="Receiver", url=receiver.url, events=["task.completed"], secret=SECRET)
        task = submit_task(topic="A task whose end is announced")
        cluster = Cluster(tmp_path, workers=1, env={
            "PRESSROOM_FETCH_ALLOW_PRIVATE": "1", "PRESSROOM_NOTIFY_DIGEST_SECONDS": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        })
        try:
            def delivered():
                connection.close()
                return WebhookDelivery.objects.filter(status="succeeded").exists() and receiver.deliveries

            wait_for(delivered, timeout=90, message=f"the webhook delivery\n{cluster.output[-4000:]}")
            wait_for(lambda: "Pressroom: 1 task awaiting review" in cluster.output, timeout=30,
                     message=f"the digest email\n{cluster.output[-4000:]}")
        finally:
            cluster.stop()
    [got] = receiver.deliveries
    assert got["verified"] and got["json"]["type"] == "task.completed" and got["json"]["task"]["id"] == str(task.pk)
    assert "To: rita@example.com" in cluster.output and "A task whose end is announced" in cluster.output
