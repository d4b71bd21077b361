"""Hand-written posts changed by two people at once: the delete judges the post as it is stored,
under its row lock, not as the deleting person's page loaded it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from content.exceptions import PermissionDenied
from publishing.models import Post, PostChange
from publishing.services.posts import post_delete_by_person, post_save_by_person, record_due_publications
from tasks.exceptions import NoLongerExists
from tests.races import run_while_holding


def _draft(reviewer) -> Post:
    post = Post(title="Launch notes", slug="launch-notes", body="Draft text.")
    post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body"}, adding=True)
    return Post.objects.get(pk=post.pk)


def _while_a_publisher_publishes(post: Post, reviewer, verb):
    """`verb()` run on another connection while this one holds `post`'s row, publishing it
    (`tests.races.run_while_holding`): the verb's result or error."""
    def publish():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        locked.published_at = timezone.now()
        post_save_by_person(post=locked, by=reviewer, changed={"published_at"}, adding=False)

    return run_while_holding(publish, verb)


def _trail(post) -> list[str]:
    return list(PostChange.objects.filter(post_id=post.pk).order_by("created_at").values_list("kind", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_editor_cannot_delete_a_post_a_publisher_put_on_the_blog_while_the_delete_waited(editor, reviewer):
    """The editor's page loaded the draft; a publisher holds the post's row, publishing it. The
    delete waits for that row, then finds the post public: the editor may not delete it. Before,
    the delete checked the page's stale copy (not public), waited only at the DELETE, and removed a
    public post, its audit row saying it was deleted unpublished."""
    loaded_by_editor = _draft(reviewer)

    outcome = _while_a_publisher_publishes(
        loaded_by_editor, reviewer, lambda: post_delete_by_person(post=loaded_by_editor, by=editor))

    assert isinstance(outcome, PermissionDenied), outcome
    assert Post.objects.get(pk=loaded_by_editor.pk).is_public
    assert _trail(loaded_by_editor) == ["created", "published"]


@pytest.mark.django_db(transaction=True)
def test_an_editor_cannot_change_a_post_a_publisher_put_on_the_blog_while_the_save_waited(editor, reviewer):
    """The permission rule read the post before the save locked it: the editor's change of a draft
    passed, waited for the publisher, then saved the form's copy over the public post, taking it
    off the blog (its `published_at` from before) and recording an edit. Now the rule is asked
    under the lock, and finds the post public."""
    loaded_by_editor = _draft(reviewer)
    loaded_by_editor.body = "The editor's text."

    outcome = _while_a_publisher_publishes(loaded_by_editor, reviewer, lambda: post_save_by_person(
        post=loaded_by_editor, by=editor, changed={"body"}, adding=False))

    assert isinstance(outcome, PermissionDenied), outcome
    stored = Post.objects.get(pk=loaded_by_editor.pk)
    assert (stored.is_public, stored.body) == (True, "Draft text.")
    assert _trail(loaded_by_editor) == ["created", "published"]


@pytest.mark.django_db(transaction=True)
def test_a_publishers_edit_that_waited_for_another_publication_keeps_the_post_on_the_blog(reviewer, superuser):
    """Two publishers: one publishes the draft while the other's edit of its body waits. The edit
    changed the body only, so the post stays public; before, the form's copy (not published) was
    saved whole and the post silently went off the blog, its trail saying "edited"."""
    loaded = _draft(reviewer)
    loaded.body = "Corrected text."

    outcome = _while_a_publisher_publishes(loaded, reviewer, lambda: post_save_by_person(
        post=loaded, by=superuser, changed={"body"}, adding=False))

    assert isinstance(outcome, Post), outcome
    stored = Post.objects.get(pk=loaded.pk)
    assert (stored.is_public, stored.live_recorded_at is not None, stored.body) == (True, True, "Corrected text.")
    assert _trail(loaded) == ["created", "published", "edited"]
    assert PostChange.objects.get(post_id=loaded.pk, kind="edited").published_at == stored.published_at


@pytest.mark.django_db
def test_deleting_a_post_someone_else_deleted_meanwhile_says_so_and_records_one_deletion(reviewer):
    """Two people's pages show the same post and both press Delete: the second finds it gone. Before,
    it succeeded silently and the trail recorded the post deleted twice."""
    first_page = _draft(reviewer)
    second_page = Post.objects.get(pk=first_page.pk)
    post_delete_by_person(post=first_page, by=reviewer)

    with pytest.raises(NoLongerExists, match="deleted meanwhile"):
        post_delete_by_person(post=second_page, by=reviewer)
    assert list(PostChange.objects.filter(post_id=first_page.pk).values_list("kind", flat=True)).count("deleted") == 1


@pytest.mark.django_db
def test_an_edit_from_a_form_loaded_before_the_post_went_live_does_not_make_it_go_live_twice(reviewer):
    """The form loaded a scheduled post; it went live and the sweep recorded that; then the form's
    edit of the body was saved with the form's copy of `live_recorded_at` (none), and the next
    sweep recorded the post going live a second time."""
    post = Post(title="Launch notes", slug="launch-notes", body="Draft text.",
                published_at=timezone.now() + timedelta(hours=1))
    post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body", "published_at"}, adding=True)
    form_copy = Post.objects.get(pk=post.pk)
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(seconds=1))  # its time came
    form_copy.published_at = Post.objects.get(pk=post.pk).published_at  # as the form shows it, unchanged
    assert record_due_publications() == 1

    form_copy.body = "Corrected text."
    post_save_by_person(post=form_copy, by=reviewer, changed={"body"}, adding=False)

    assert record_due_publications() == 0
    assert _trail(post) == ["scheduled", "published", "edited"]
