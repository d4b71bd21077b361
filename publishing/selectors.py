"""Reads of publishing: a task's post, the versions a post carried, what a user may do now."""

from __future__ import annotations

from content.models import ApprovalEvent, Decision
from publishing.models import Post
from publishing.services import posts
from tasks.exceptions import DomainError

PUBLISH_ACTIONS = ("publish", "schedule", "unpublish")


def task_post(task) -> Post | None:
    return Post.objects.filter(task_id=task.pk).select_related("version", "category").first()


def _summary(post: Post) -> dict:
    return {"id": post.pk, "slug": post.slug, "url": post.get_absolute_url(), "published_at": post.published_at}


def task_post_summaries(task_ids) -> dict:
    """`{task id: {id, slug, url, published_at}}` for the tasks among `task_ids` that have a post, in
    one query; the task API reads it through the `PRESSROOM_TASK_POST_SUMMARIES` hook (`tasks`
    never imports `publishing`). `published_at` is None for an unpublished post, in the future for
    a scheduled one."""
    posts = Post.objects.filter(task_id__in=list(task_ids)).only("id", "slug", "published_at", "task_id")
    return {post.task_id: _summary(post) for post in posts}


def task_post_summary(task) -> dict | None:
    """The summary of one task's post (see `task_post_summaries`), or None."""
    return task_post_summaries([task.pk]).get(task.pk)


def carried_versions(post: Post) -> list[dict]:
    """The versions a post has carried, oldest first: number, when, by whom."""
    if post.task_id is None:
        return []
    events = (ApprovalEvent.objects.filter(task_id=post.task_id, decision__in=[Decision.PUBLISHED, Decision.SCHEDULED])
              .select_related("version", "actor").order_by("created_at"))
    carried, seen = [], set()
    for event in events:
        if event.version_id and event.version_id not in seen:
            seen.add(event.version_id)
            carried.append({"number": event.version.number, "at": event.created_at, "by": event.actor})
    return carried


def publish_actions(user, task) -> list[str]:
    """The publishing verbs `user` may take on `task` now ("publish" and "schedule" share a rule:
    either publishes the approved version, now or later; on a published task it is a republish)."""
    allowed = []
    for action, check in (("publish", posts.check_publish), ("schedule", posts.check_publish),
                          ("unpublish", posts.check_unpublish)):
        try:
            check(user, task)
        except DomainError:
            continue
        allowed.append(action)
    return allowed
