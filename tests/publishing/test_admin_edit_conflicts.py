"""Two people editing one hand-written post: the second save does not silently undo the first."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from publishing.models import Category, Post, PostChange
from publishing.services.edit_conflicts import edit_fingerprint
from publishing.services.posts import post_save_by_person
from tasks.exceptions import InvalidTransition

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change_url(post) -> str:
    return reverse("admin:publishing_post_change", args=[post.pk])


def _loaded_form(client, post) -> dict:
    """The change form's fields as the page gave them (the fingerprint of the post as loaded)."""
    page = client.get(_change_url(post)).content.decode()
    fingerprint = re.search(r'name="loaded_fingerprint" value="([^"]*)"', page)
    assert fingerprint, "the change form carries the fingerprint of the post it shows"
    return {"title": post.title, "slug": post.slug, "category": "", "excerpt": post.excerpt, "body": post.body,
            "task": "", "version": "", "loaded_fingerprint": fingerprint.group(1)}


def _draft() -> Post:
    return Post.objects.create(title="Compost notes", slug="compost-notes", body="Start with leaves.")


def test_a_save_from_a_page_loaded_before_someone_elses_save_is_refused_and_keeps_what_was_typed(editor, other_editor):
    post = _draft()
    first, second = _client(editor), _client(other_editor)
    first_form, second_form = _loaded_form(first, post), _loaded_form(second, post)

    assert first.post(_change_url(post), {**first_form, "body": "Start with leaves and grass."}).status_code == 302
    response = second.post(_change_url(post), {**second_form, "title": "Compost, briefly"})

    assert response.status_code == 200
    page = response.content.decode()
    assert f"{editor.get_username()} changed this post" in page
    assert "Compost, briefly" in page  # what the second person typed is still on the page
    post.refresh_from_db()
    assert (post.title, post.body) == ("Compost notes", "Start with leaves and grass.")
    assert PostChange.objects.filter(post=post).count() == 1


def test_saving_again_after_the_warning_overwrites_the_other_change_on_purpose(editor, other_editor):
    post = _draft()
    first, second = _client(editor), _client(other_editor)
    first_form, second_form = _loaded_form(first, post), _loaded_form(second, post)
    first.post(_change_url(post), {**first_form, "body": "Start with leaves and grass."})
    warned = second.post(_change_url(post), {**second_form, "title": "Compost, briefly"}).content.decode()
    refreshed = re.search(r'name="loaded_fingerprint" value="([^"]*)"', warned).group(1)

    response = second.post(_change_url(post), {**second_form, "title": "Compost, briefly", "loaded_fingerprint": refreshed})

    assert response.status_code == 302, response.context["adminform"].form.errors
    post.refresh_from_db()
    assert (post.title, post.body) == ("Compost, briefly", "Start with leaves.")


def test_a_post_going_live_as_scheduled_is_no_edit_conflict(reviewer):
    """Going live changes the post's bookkeeping (`live_recorded_at`, `updated_at`), not what the
    form shows: a publisher who opened the post before it went live saves without a warning."""
    from datetime import timedelta

    from django.utils import timezone

    from publishing.services.posts import record_due_publications

    due = timezone.now() - timedelta(minutes=1)  # due, not yet recorded as gone live
    post = Post.objects.create(title="Compost notes", slug="compost-notes", body="Start with leaves.",
                               published_at=due)
    client = _client(reviewer)
    form = _loaded_form(client, post)
    assert record_due_publications() == 1
    form_published = timezone.localtime(due)

    response = client.post(_change_url(post), {**form, "excerpt": "Leaves first.",
                                                "published_at_0": f"{form_published:%Y-%m-%d}",
                                                "published_at_1": f"{form_published:%H:%M:%S}"})

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Post.objects.get(pk=post.pk).excerpt == "Leaves first."


def test_the_service_refuses_a_save_made_from_an_outdated_fingerprint(editor):
    post = _draft()
    loaded = edit_fingerprint(Post, post.pk)
    Category.objects.create(name="Gardening", slug="gardening")
    Post.objects.filter(pk=post.pk).update(body="Changed meanwhile.")
    form_copy = Post.objects.get(pk=post.pk)
    form_copy.title = "Compost, briefly"

    with pytest.raises(InvalidTransition) as refused:
        post_save_by_person(post=form_copy, by=editor, changed={"title"}, adding=False, loaded_fingerprint=loaded)

    assert refused.value.status_code == 409
    assert Post.objects.get(pk=post.pk).title == "Compost notes"


@pytest.mark.parametrize("junk", ["", "x" * 65, "\x00", "not-hex-" * 8])
def test_a_form_without_a_readable_fingerprint_is_not_refused_for_it(editor, junk):
    """A form that does not say what it loaded (a script posting to the admin, an old page) saves as
    before; junk there is the same as nothing, never a 500."""
    post = _draft()
    response = _client(editor).post(_change_url(post), {"title": "Compost, briefly", "slug": post.slug,
                                                        "body": post.body, "loaded_fingerprint": junk})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Post.objects.get(pk=post.pk).title == "Compost, briefly"


def test_the_fingerprint_is_never_recorded_as_a_change_of_the_post(editor):
    """What the form loaded is no field of the post: a save whose fingerprint differs from the
    stored one only because it is junk (a script) changes nothing else, and the trail says so."""
    post = _draft()
    response = _client(editor).post(_change_url(post), {"title": post.title, "slug": post.slug, "body": post.body,
                                                        "loaded_fingerprint": "not a fingerprint"})
    assert response.status_code == 302
    assert PostChange.objects.get(post=post).fields == []
