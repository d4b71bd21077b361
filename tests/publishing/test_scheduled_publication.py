"""A scheduled publication goes live at its time and is recorded exactly once, across a cluster
restart and with two clusters running the scheduler at once (real django-q2 processes)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from content.models import ApprovalEvent
from content.services.review import task_approve
from publishing.models import Post
from publishing.services.posts import record_due_publications, task_publish
from tests.editorial import completed_task, editor_and_reviewer
from tests.processes import Cluster, wait_for
from tests.seed import ensure_seed_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_scheduled_post_goes_live_once_across_a_cluster_restart(tmp_path):
    ensure_seed_data()
    editor, reviewer = editor_and_reviewer("sched-ed", "sched-rev")
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    at = timezone.now() + timedelta(seconds=6)
    post = task_publish(task=task, by=reviewer, at=at)

    first = Cluster(tmp_path, name="before-restart", workers=1)
    try:
        time.sleep(2)
        assert not Post.objects.published().exists(), "not before its time"
    finally:
        first.stop()  # the cluster goes away before the publication time
    wait_for(lambda: timezone.now() > at + timedelta(seconds=1), timeout=30, message="the publication time")
    connection.close()
    assert list(Post.objects.published()) == [post], "visible at its time with no cluster running"

    clusters = [Cluster(tmp_path, name=f"after-restart-{n}", workers=1) for n in range(2)]
    try:
        wait_for(lambda: (connection.close() or Post.objects.get(pk=post.pk).live_recorded_at is not None),
                 timeout=120, interval=1,
                 message="the go-live to be recorded\n" + "\n".join(c.output[-3000:] for c in clusters))
        # The other cluster's first scheduler pass: django-q2 runs the scheduler 30 s after a
        # cluster starts, and the two started within a second or two of each other. A later pass
        # would call what `record_due_publications()` below calls, and that finds nothing due.
        time.sleep(5)
    finally:
        for cluster in clusters:
            cluster.stop()
    connection.close()
    assert record_due_publications() == 0
    published = ApprovalEvent.objects.filter(task=task, decision="published")
    assert published.count() == 1, "went live exactly once"
    assert list(ApprovalEvent.objects.filter(task=task).order_by("created_at").values_list("decision", flat=True)) == [
        "approved", "scheduled", "published"]
