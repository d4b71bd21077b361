"""A publisher's account deleted while their publication, unpublication or change of a hand-written
post was on its way: the request found the account (it is the request's user), then a superuser's
deletion of it committed before the verb's transaction did. The audit row (`ApprovalEvent.actor`,
`PostChange.actor`) named the deleted account, the commit failed on its foreign key (an
IntegrityError, a 500) and the post's change was lost. Now the verb refuses (`NoLongerExists`,
404 from the API) and changes nothing.

Each interleaving is forced with two connections (`tests.races.run_while_holding`): the deletion
holds its locks, uncommitted, while the verb runs on the other connection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from content.models import ApprovalEvent
from content.services.review import task_approve
from publishing.models import Post, PostChange
from publishing.services.posts import post_delete_by_person, post_save_by_person, task_publish, task_unpublish
from tasks.exceptions import NoLongerExists
from tests.editorial import completed_task
from tests.factories import make_user
from tests.races import run_while_holding

pytestmark = pytest.mark.django_db(transaction=True)


def _approved_task(editor, root, *, published: bool = False):
    task = completed_task(created_by=editor)
    task_approve(task=task, by=root)
    if published:
        task_publish(task=task, by=root)
    task.refresh_from_db()
    return task


def _draft(root) -> Post:
    post = Post(title="Launch notes", slug="launch-notes", body="Draft text.")
    post_save_by_person(post=post, by=root, changed={"title", "slug", "body"}, adding=True)
    return Post.objects.get(pk=post.pk)


def _edited(post: Post) -> Post:
    post.body = "Corrected text."
    return post


VERBS = {
    "publish": (lambda editor, root: _approved_task(editor, root), lambda task, by: task_publish(task=task, by=by)),
    "schedule": (lambda editor, root: _approved_task(editor, root),
                 lambda task, by: task_publish(task=task, by=by, at=timezone.now() + timedelta(days=1))),
    "unpublish": (lambda editor, root: _approved_task(editor, root, published=True),
                  lambda task, by: task_unpublish(task=task, by=by, reason="Outdated.")),
    "write": (lambda editor, root: Post(title="New notes", slug="new-notes", body="Text."),
              lambda post, by: post_save_by_person(post=post, by=by, changed={"title", "slug", "body"}, adding=True)),
    "edit": (lambda editor, root: _edited(_draft(root)),
             lambda post, by: post_save_by_person(post=post, by=by, changed={"body"}, adding=False)),
    "delete": (lambda editor, root: _draft(root), lambda post, by: post_delete_by_person(post=post, by=by)),
}


def _state():
    return (list(Post.objects.order_by("pk").values_list("slug", "body", "published_at")),
            PostChange.objects.count(), ApprovalEvent.objects.count())


@pytest.mark.parametrize("name", VERBS)
def test_a_publishing_verb_by_an_account_deleted_meanwhile_changes_nothing(editor, reviewer, name):
    make, verb = VERBS[name]
    subject = make(editor, make_user("root", is_superuser=True))
    before = _state()

    outcome = run_while_holding(lambda: get_user_model().objects.get(pk=reviewer.pk).delete(),
                                lambda: verb(subject, reviewer))

    assert isinstance(outcome, NoLongerExists), repr(outcome)
    assert str(outcome) == "Your account was deleted meanwhile; nothing was saved."
    assert _state() == before
