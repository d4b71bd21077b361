"""A category or tag name is one name whatever its letter case: "Gardening" and "gardening" are the
same category. The database refuses a second one, the admin says so, a publication racing another
finds the row the other made, and migration 0016 merges the namesakes made before."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from content.services.review import task_approve
from publishing.caching import owed_bump_make
from publishing.models import Category, Post, Tag
from publishing.services import posts as post_services
from publishing.services.posts import task_publish
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db

merge_namesakes = importlib.import_module("publishing.migrations.0016_case_insensitive_names").merge_namesakes

MODELS = {"category": Category, "tag": Tag}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", [Category, Tag])
@pytest.mark.parametrize(("first", "second"), [("Gardening", "gardening"), ("ΟΔΟΣ", "οδος")])
def test_the_database_refuses_a_name_that_differs_only_in_letter_case(model, first, second):
    # "ΟΔΟΣ" and "οδος" (final sigma) are equal in upper case only, as `name__iexact` compares them.
    model.objects.create(name=first, slug="first")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(name=second, slug="second")
    assert list(model.objects.values_list("name", flat=True)) == [first]


@pytest.mark.parametrize("model_name", ["category", "tag"])
def test_adding_a_namesake_in_the_admin_is_a_form_error(superuser, model_name):
    model = MODELS[model_name]
    model.objects.create(name="Gardening", slug="gardening")

    response = _client(superuser).post(reverse(f"admin:publishing_{model_name}_add"),
                                       {"name": "gardening", "slug": "gardening-2"})

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        f"A {model_name} with this name already exists: names that differ only in letter case "
        f"(“Gardening”, “gardening”) are the same {model_name}."]
    assert list(model.objects.values_list("name", flat=True)) == ["Gardening"]


@pytest.mark.parametrize("model_name", ["category", "tag"])
def test_renaming_to_a_namesake_in_the_admin_is_a_form_error_and_recasing_its_own_name_is_not(
        superuser, model_name):
    model = MODELS[model_name]
    model.objects.create(name="Gardening", slug="gardening")
    cooking = model.objects.create(name="Cooking", slug="cooking")
    url = reverse(f"admin:publishing_{model_name}_change", args=[cooking.pk])

    refused = _client(superuser).post(url, {"name": "GARDENING", "slug": "cooking"})
    recased = _client(superuser).post(url, {"name": "COOKING", "slug": "cooking"})

    assert refused.status_code == 200
    assert "already exists" in refused.context["adminform"].form.non_field_errors()[0]
    assert recased.status_code == 302
    assert sorted(model.objects.values_list("name", flat=True)) == ["COOKING", "Gardening"]


def test_a_publication_finds_the_category_and_tag_another_made_after_its_look_up(editor, reviewer, monkeypatch):
    # Between the publication's look-up (no "Gardening", no "Soil") and its insert, another session
    # makes "GARDENING" and "SOIL". Before, the insert made a second category of the name (with the
    # database's guard, an IntegrityError, a 500); now it is refused in a savepoint and the other's
    # row is found again.
    free_slug = post_services._free_slug

    def made_meanwhile(model, name, limit, **kwargs):
        if model in (Category, Tag) and name.lower() in {"gardening", "soil"}:
            model.objects.create(name=name.upper(), slug=f"{name.lower()}-elsewhere")
        return free_slug(model, name, limit, **kwargs)

    monkeypatch.setattr(post_services, "_free_slug", made_meanwhile)
    task = completed_task(created_by=editor, category="Gardening", tags=["Soil", "compost"])
    task_approve(task=task, by=reviewer)

    post = task_publish(task=task, by=reviewer)

    assert list(Category.objects.values_list("name", "slug")) == [("GARDENING", "gardening-elsewhere")]
    assert post.category.name == "GARDENING"
    assert sorted(post.tags.values_list("name", flat=True)) == ["SOIL", "compost"]
    assert Tag.objects.count() == 2


# --- migration 0016 ----------------------------------------------------------------------------
@pytest.fixture
def namesakes_allowed():
    """The guard dropped for this test (its transaction puts it back), to make rows as they were."""
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS category_name_unique_any_case")
        cursor.execute("DROP INDEX IF EXISTS tag_name_unique_any_case")


def _post(slug: str, **fields) -> Post:
    return Post.objects.create(title=slug.title(), slug=slug, body="Body.", **fields)


def test_migration_merges_namesake_categories_into_the_oldest(namesakes_allowed,
                                                                django_capture_on_commit_callbacks):
    # A publication numbered the later namesake's slug: "gardening" was made first.
    first = Category.objects.create(name="gardening", slug="gardening")
    later = Category.objects.create(name="Gardening", slug="gardening-2", description="Plants and soil.")
    other = Category.objects.create(name="Cooking", slug="cooking")
    posts = [_post("one", category=first), _post("two", category=later), _post("three", category=other)]

    with django_capture_on_commit_callbacks() as callbacks:
        merge_namesakes(apps, schema_editor=None)

    assert owed_bump_make in callbacks  # the blog's pages are invalidated once it is committed

    assert sorted(Category.objects.values_list("name", "slug", "description")) == [
        ("Cooking", "cooking", ""), ("gardening", "gardening", "Plants and soil.")]
    assert [Post.objects.get(pk=post.pk).category_id for post in posts] == [first.pk, first.pk, other.pk]


def test_migration_merges_namesake_tags_without_tagging_a_post_twice_and_refreshes_its_search(
        namesakes_allowed):
    first = Tag.objects.create(name="Soil", slug="soil")
    later = Tag.objects.create(name="SOIL", slug="soil-2")
    greek = Tag.objects.create(name="ΟΔΟΣ", slug="οδοσ")
    greek_later = Tag.objects.create(name="οδος", slug="οδοσ-2")
    both, only_later, untouched = _post("both"), _post("only-later"), _post("untouched")
    both.tags.set([first, later])
    only_later.tags.set([later, greek_later])
    untouched.tags.set([first])
    Post.objects.update(search_head=None, search_vector=None)

    merge_namesakes(apps, schema_editor=None)

    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Soil", "ΟΔΟΣ"]
    assert list(both.tags.values_list("name", flat=True)) == ["Soil"]
    assert sorted(only_later.tags.values_list("name", flat=True)) == ["Soil", "ΟΔΟΣ"]
    assert list(untouched.tags.values_list("name", flat=True)) == ["Soil"]
    assert Tag.objects.get(pk=greek.pk)
    refreshed = dict(Post.objects.values_list("slug", "search_head"))
    assert "soil" in refreshed["both"] and "οδοσ" in refreshed["only-later"]
    assert refreshed["untouched"] is None  # its tags did not change


def test_migration_leaves_rows_without_namesakes_alone(django_capture_on_commit_callbacks):
    Category.objects.create(name="Gardening", slug="gardening")
    Tag.objects.create(name="Soil", slug="soil")

    with django_capture_on_commit_callbacks() as callbacks:
        merge_namesakes(apps, schema_editor=None)

    assert list(Category.objects.values_list("name", flat=True)) == ["Gardening"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["Soil"]
    assert owed_bump_make not in callbacks  # nothing merged: the blog's pages are not invalidated
