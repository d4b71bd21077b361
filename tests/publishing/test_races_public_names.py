"""A category's slug changed by two people at once: each address it had stays a redirect."""

from __future__ import annotations

import pytest

from publishing.models import Category, SlugRedirect
from publishing.services.posts import public_name_save_by_person
from tests.races import run_while_holding


@pytest.mark.django_db(transaction=True)
def test_two_slug_changes_of_one_category_at_once_leave_a_redirect_from_each_address_it_had():
    """Both forms loaded the category at /gardening/. The first moves it to /garden/ and holds its
    transaction; the second, moving it to /gardens/, waits, then must see that the category was at
    /garden/ (for a moment, on the blog). Before, the second read the slug before waiting and
    recorded /gardening/ again, so /garden/ answered 404 instead of redirecting."""
    Category.objects.create(name="Gardening", slug="gardening")
    first_form, second_form = Category.objects.get(), Category.objects.get()
    first_form.slug, second_form.slug = "garden", "gardens"

    def second():
        public_name_save_by_person(second_form, changed={"slug"}, adding=False)
        return "saved"

    outcome = run_while_holding(
        lambda: public_name_save_by_person(first_form, changed={"slug"}, adding=False), second)

    assert outcome == "saved"
    category = Category.objects.get()
    assert category.slug == "gardens"
    assert sorted(SlugRedirect.objects.filter(category=category).values_list("slug", flat=True)) == [
        "garden", "gardening"]


def _admin_of(model):
    from django.contrib import admin

    return admin.site._registry[model]


class _Form:
    """What `save_model` reads of the admin's form."""

    def __init__(self, changed_data, cleaned_data=None):
        self.changed_data, self.cleaned_data = list(changed_data), cleaned_data or {}


def _admin_save(obj, changed, user):
    """The admin's save of `obj` as its change form runs it: in one transaction."""
    from django.db import transaction

    with transaction.atomic():
        _admin_of(type(obj)).save_model(_request(user), obj, _Form(changed), True)


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/")
    request.user = user
    return request


def _row_is_free(model, pk) -> bool:
    """Whether this connection could lock the row at once (no other transaction holds it)."""
    from django.db import OperationalError, transaction

    try:
        with transaction.atomic():
            model.objects.select_for_update(nowait=True).filter(pk=pk).exists()
        return True
    except OperationalError:
        return False


@pytest.mark.django_db(transaction=True)
def test_deleting_a_category_while_a_publication_names_it_takes_the_category_off_the_new_post(editor, reviewer):
    """The publication has made its post in the Gardening category and not yet committed when an
    editor deletes the category in the admin. Before, the deletion did not see the new post,
    deleted the row, and failed at commit on the post still naming it (an IntegrityError, a 500):
    now it waits for the publication and takes the category off its post, as off any other."""
    from content.services.review import task_approve
    from publishing.models import Post
    from publishing.services.posts import task_publish
    from tests.editorial import completed_task

    category = Category.objects.create(name="Gardening", slug="gardening")
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)

    outcome = run_while_holding(lambda: task_publish(task=task, by=reviewer),
                                lambda: _admin_of(Category).delete_model(_request(editor), category))

    assert outcome is None
    assert not Category.objects.exists()
    post = Post.objects.get(task=task)
    assert post.is_public and post.category is None


@pytest.mark.django_db(transaction=True)
def test_deleting_tags_while_a_publication_names_one_takes_the_tag_off_the_new_post(editor, reviewer):
    from content.services.review import task_approve
    from publishing.models import Post, Tag
    from publishing.services.posts import task_publish
    from tests.editorial import completed_task

    Tag.objects.create(name="compost", slug="compost")
    Tag.objects.create(name="unused", slug="unused")
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)

    outcome = run_while_holding(lambda: task_publish(task=task, by=reviewer),
                                lambda: _admin_of(Tag).delete_queryset(
                                    _request(editor), Tag.objects.filter(name__in=["compost", "unused"])))

    assert outcome is None
    assert list(Tag.objects.values_list("name", flat=True)) == ["soil"]
    assert list(Post.objects.get(task=task).tags.values_list("name", flat=True)) == ["soil"]


@pytest.mark.django_db(transaction=True)
def test_the_admins_save_of_a_category_holds_no_row_while_it_waits_for_the_name_lock(editor):
    """A publication takes the name lock, then the rows of the names it uses. The admin's save of
    a category took the category's row first, then the name lock: renamed while a publication
    used it, each waited for the other (a deadlock, and one of them failed). Now the save waits
    for the name lock holding nothing."""
    from config.locks import PUBLIC_NAMES, advisory_xact_lock

    category = Category.objects.create(name="Gardening", slug="gardening")
    form_copy = Category.objects.get()
    form_copy.name = "Garden"
    seen = []

    outcome = run_while_holding(lambda: advisory_xact_lock(PUBLIC_NAMES),
                      lambda: _admin_save(form_copy, ["name"], editor),
                      then=lambda: seen.append(_row_is_free(Category, category.pk)))

    assert outcome is None
    assert seen == [True]
    assert Category.objects.get().name == "Garden"


@pytest.mark.django_db(transaction=True)
def test_the_admins_save_of_a_post_holds_no_row_while_it_waits_for_the_name_lock(editor):
    """A deletion of a category takes the name lock, then the rows of the posts that name it; a
    post's save must not hold its row while it waits for the name lock."""
    from config.locks import PUBLIC_NAMES, advisory_xact_lock
    from publishing.models import Post

    post = Post.objects.create(title="Notes", slug="notes", body="Some notes.")
    form_copy = Post.objects.get()
    form_copy.title, form_copy.slug = "Garden notes", "garden-notes"
    seen = []

    outcome = run_while_holding(lambda: advisory_xact_lock(PUBLIC_NAMES),
                      lambda: _admin_save(form_copy, ["title", "slug"], editor),
                      then=lambda: seen.append(_row_is_free(Post, post.pk)))

    assert outcome is None
    assert seen == [True]
    assert Post.objects.get().slug == "garden-notes"


@pytest.mark.django_db(transaction=True)
def test_a_post_saved_with_a_category_and_a_tag_deleted_since_the_form_was_loaded_is_refused(editor):
    """The form checked that the category and tags exist; someone deleted them before the save.
    Before, the post was saved naming them and the commit failed (a 500); now the save is refused
    with a message on each field and nothing is written."""
    from publishing.models import Post, Tag
    from publishing.services.posts import post_save_by_person
    from tasks.exceptions import DomainError

    post = Post.objects.create(title="Notes", slug="notes", body="Some notes.")
    category = Category.objects.create(name="Gardening", slug="gardening")
    tag = Tag.objects.create(name="compost", slug="compost")
    form_copy = Post.objects.get()
    form_copy.category = category
    Category.objects.all().delete()
    Tag.objects.all().delete()

    with pytest.raises(DomainError) as refused:
        post_save_by_person(post=form_copy, by=editor, changed={"category", "tags"}, adding=False, tags=[tag])

    assert set(refused.value.fields) == {"category", "tags"}
    assert "deleted" in str(refused.value)
    assert Post.objects.get().category_id is None
