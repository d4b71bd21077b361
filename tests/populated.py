"""A small database as a site in use leaves it, written through today's services: the rows a
migration run backwards and forwards again must carry (tests/test_migrations_reversible.py).

Every kind of row a migration of the last days touched is here: tasks in every status with events,
versions, revision rounds and their checkpoints, reviews, posts published, scheduled, unpublished
and hand-written with categories, tags and old addresses, webhook subscriptions (one switched off
after failures, with its notification line) and their deliveries (a ping among them), budgets and
their history, and the totals of removed tasks and pruned deliveries."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from tests.editorial import completed_task, editor_and_reviewer
from tests.factories import make_user, submit_task
from tests.seed import ensure_seed_data


def populate() -> dict:
    """Write the rows; returns a count per table the tests compare before and after."""
    from content.services.review import task_approve, task_reject
    from publishing.models import Category, Post
    from publishing.services.posts import post_save_by_person, task_publish, task_unpublish
    from publishing.webhooks.models import WebhookDelivery
    from publishing.webhooks.services import (
        _disable, webhook_deliveries_create, webhook_history_prune, webhook_subscription_create,
        webhook_subscription_ping,
    )
    from tasks.events import event_payload
    from tasks.models import GenerationTask, StageCheckpoint, TaskEvent
    from tasks.services.budgets import budget_set
    from tasks.services.lifecycle import task_cancel, task_delete, task_retry

    ensure_seed_data()
    editor, reviewer = editor_and_reviewer("mig_editor", "mig_reviewer")
    root = make_user("mig_root", is_superuser=True)
    type(root).objects.filter(pk=root.pk).update(email="root@example.org")
    for user in (editor, reviewer):
        type(user).objects.filter(pk=user.pk).update(email=f"{user.username}@example.org")
    budget_set(user=editor, monthly_limit="25.00", by=root, reason="a start")
    budget_set(user=editor, monthly_limit="40.00", by=root, reason="more articles")

    # Tasks in every status.
    queued = submit_task(created_by=editor, topic="Queued and waiting")
    running = submit_task(created_by=editor, topic="Running now")
    GenerationTask.objects.filter(pk=running.pk).update(status="running", phase="draft", started_at=timezone.now(),
                                                         worker="worker-1", heartbeat_at=timezone.now())
    for status, topic in (("failed", "Failed once"), ("timed_out", "Ran too long")):
        task = submit_task(created_by=editor, topic=topic)
        GenerationTask.objects.filter(pk=task.pk).update(status=status, finished_at=timezone.now(), error="boom")
    failed_then_retried = submit_task(created_by=editor, topic="Failed then retried")
    GenerationTask.objects.filter(pk=failed_then_retried.pk).update(status="failed", finished_at=timezone.now())
    task_retry(task=GenerationTask.objects.get(pk=failed_then_retried.pk), by=editor)
    task_cancel(task=submit_task(created_by=editor, topic="Cancelled by its editor"), by=editor)
    removed = submit_task(created_by=editor, topic="Deleted, counted in the totals")
    GenerationTask.objects.filter(pk=removed.pk).update(status="failed", finished_at=timezone.now(),
                                                         input_tokens=10, output_tokens=20, actual_cost="0.5")
    task_delete(task=GenerationTask.objects.get(pk=removed.pk), by=editor)
    del queued

    # Reviews: one approved, one rejected, one sent back for a revision that ran again (its
    # stages' checkpoints of round 1 beside those of round 0).
    approved = completed_task(created_by=editor, title="Composting at home", slug="composting-at-home")
    task_approve(task=approved, by=reviewer, feedback="Good.")
    rejected = completed_task(created_by=editor, title="Rejected piece", slug="rejected-piece")
    task_reject(task=rejected, by=reviewer, feedback="Off topic.", reasons=["off_topic"])
    revised = completed_task(created_by=editor, title="Revised piece", slug="revised-piece")
    for stage in ("research", "draft"):
        StageCheckpoint.objects.create(task=revised, stage=stage, revision=0, attempt=1)
    task_reject(task=revised, by=reviewer, feedback="Shorter, please.", reasons=["length"], revise=True,
                target_words=600)
    GenerationTask.objects.filter(pk=revised.pk).update(status="completed", finished_at=timezone.now())
    StageCheckpoint.objects.create(task=revised, stage="draft", revision=1, attempt=2)

    # Posts: published (then renamed, leaving an old address), scheduled, unpublished, hand-written.
    task_publish(task=approved, by=reviewer)
    scheduled_task = completed_task(created_by=editor, title="Planned for later", slug="planned-for-later",
                                    category="Cooking", tags=["soup"])
    task_approve(task=scheduled_task, by=reviewer)
    task_publish(task=scheduled_task, by=reviewer, at=timezone.now() + timedelta(days=3))
    down_task = completed_task(created_by=editor, title="Taken down", slug="taken-down", tags=["compost", "Winter"])
    task_approve(task=down_task, by=reviewer)
    task_publish(task=down_task, by=reviewer)
    task_unpublish(task=down_task, by=reviewer, reason="Outdated.")
    handwritten = Post(title="A note from the editors", slug="a-note", body="Hello, readers.",
                       category=Category.objects.get(name="Gardening"), published_at=timezone.now())
    post_save_by_person(post=handwritten, by=reviewer, changed={"title", "slug", "body"}, adding=True)
    post_save_by_person(post=_renamed(handwritten, "a-note-from-the-editors"), by=reviewer, changed={"slug"},
                        adding=False)

    # Webhooks: deliveries of real events and a ping, one subscription switched off after failures
    # (its notification line), and attempts pruned into the totals.
    with mock.patch("publishing.webhooks.services.transaction.on_commit"):
        hook = webhook_subscription_create(by=root, name="Search index", url="https://hooks.example.org/in",
                                           events=["post.published", "task.completed"])
        for event in TaskEvent.objects.filter(task=approved, kind__in=["status", "publication"]):
            webhook_deliveries_create(payload=event_payload(event))
        webhook_subscription_ping(subscription=hook, by=root)
    broken = webhook_subscription_create(by=root, name="Old receiver", url="https://old.example.org/in",
                                         events=["post.published"])
    _disable(broken, reason="20 failed attempts in a row", at=timezone.now())
    old = WebhookDelivery.objects.create(subscription=hook, event="post.published", event_id="evt_old",
                                         payload={}, status="failed", scheduled_at=timezone.now())
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=200))
    webhook_history_prune(older_than=timedelta(days=90))
    return row_counts()


def _renamed(post, slug: str):
    post.slug = slug
    return post


COUNTED = (
    "auth_user", "tasks_generationtask", "tasks_taskevent", "tasks_stagecheckpoint", "tasks_costbudget",
    "tasks_costbudgetchange", "tasks_removedtasktotals", "content_contentversion", "content_approvalevent",
    "publishing_post", "publishing_post_tags", "publishing_category", "publishing_tag", "publishing_slugredirect",
    "publishing_webhooksubscription", "publishing_webhookdelivery", "publishing_pendingnotification",
    "publishing_pruneddeliverytotals",
)


def row_counts() -> dict:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in COUNTED:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts
