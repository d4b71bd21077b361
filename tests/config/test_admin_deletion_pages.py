"""A deletion's confirmation page names a bounded number of the rows it takes along, says how many
more there are and counts them all, whichever admin it is (`config.admin_site.ListedDeletionAdmin`).

A webhook subscription with 100,000 delivery attempts took 10.5 s to confirm, and a tag on 50,000
posts listed every one of them, 3 MB (docs/reliability.md, row 37)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from config.admin_site import DELETION_ROWS_LISTED
from publishing.models import Category, Post, Tag
from publishing.webhooks.models import WebhookDelivery
from publishing.webhooks.services import webhook_subscription_create
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

MORE = DELETION_ROWS_LISTED + 20


def _flat(nested) -> list:
    return [leaf for item in nested for leaf in (_flat(item) if isinstance(item, list) else [item])]


def test_deleting_a_subscription_reads_a_bounded_number_of_its_attempts_and_counts_them_all(superuser):
    hook = webhook_subscription_create(by=superuser, name="Search index", url="https://hooks.example.org/in",
                                       events=["post.published"])
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=hook, event="post.published", event_id=f"evt_{n}", payload={},
                        scheduled_at=timezone.now()) for n in range(MORE))

    response = client_for(superuser).get(reverse("admin:publishing_webhooksubscription_delete", args=[hook.pk]))

    assert response.status_code == 200
    listed = _flat(response.context["deleted_objects"])
    assert sum("Webhook delivery:" in str(row) for row in listed) == DELETION_ROWS_LISTED
    assert f"… and 20 more webhook deliveries, not listed here" in listed
    assert dict(response.context["model_count"])["webhook deliveries"] == MORE


def test_deleting_a_tag_names_a_bounded_number_of_its_posts(superuser):
    tag = Tag.objects.create(name="Compost", slug="compost")
    category = Category.objects.create(name="Gardening", slug="gardening")
    posts = Post.objects.bulk_create(Post(title=f"Post {n}", slug=f"post-{n}", body="Text", category=category)
                                     for n in range(MORE))
    Tag.posts.through.objects.bulk_create(Tag.posts.through(post=post, tag=tag) for post in posts)

    response = client_for(superuser).get(reverse("admin:publishing_tag_delete", args=[tag.pk]))

    assert response.status_code == 200
    listed = _flat(response.context["deleted_objects"])
    assert len(listed) == 1 + DELETION_ROWS_LISTED + 1  # the tag, the rows named, the note
    assert listed[-1].startswith("… and 20 more ")
    assert sum(MORE == count for count in dict(response.context["model_count"]).values()) == 1
