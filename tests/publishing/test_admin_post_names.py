"""A post's category and tags are typed by name (`config.admin_names`): the form names none of the
blog's other categories and tags, the names that contain what is typed are asked of a search, and
a name the blog does not have, or text no name can hold, is a form error that keeps what was typed
and changes nothing stored.

With 5,000 of each, the post's form listed every one: 850 kB (docs/reliability.md, rows 37 and 38)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from config.admin_names import NAMES_SUGGESTED
from publishing.admin import POST_TAGS_MAX
from publishing.models import Category, Post, PostChange, Tag
from publishing.services.edit_conflicts import edit_fingerprint
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

MANY = NAMES_SUGGESTED + 10
BODY = "A post typed by hand, which must not be lost."


@pytest.fixture
def many_names(db):
    Category.objects.bulk_create(Category(name=f"Category {n:03d}", slug=f"category-{n:03d}") for n in range(MANY))
    Tag.objects.bulk_create(Tag(name=f"Tag {n:03d}", slug=f"tag-{n:03d}") for n in range(MANY))


def post_form(**overrides) -> dict:
    data = {"title": "Hand-written", "slug": "hand-written", "category": "", "excerpt": "", "body": BODY,
            "image_alt": "", "image_credit": "", "image_credit_url": "", "published_at_0": "", "published_at_1": ""}
    data.update(overrides)
    return data


def stored_post() -> Post:
    post = Post.objects.create(title="Stored", slug="stored", body="Stored body.",
                               category=Category.objects.get(name="Category 001"))
    post.tags.set(Tag.objects.filter(name__in=["Tag 001", "Tag 002"]))
    return post


def edit_form(post: Post, **overrides) -> dict:
    return post_form(**{"title": post.title, "slug": post.slug, "body": post.body, "category": post.category.name,
                        "tags": [tag.name for tag in post.tags.all()],
                        "loaded_fingerprint": edit_fingerprint(Post, post.pk), **overrides})


def as_stored(post: Post) -> tuple:
    post.refresh_from_db()
    return post.title, post.category.name, sorted(tag.name for tag in post.tags.all())


def test_the_post_form_names_only_the_posts_own_category_and_tags(superuser, many_names):
    post = stored_post()

    added = client_for(superuser).get(reverse("admin:publishing_post_add")).content.decode()
    changed = client_for(superuser).get(reverse("admin:publishing_post_change", args=[post.pk])).content.decode()

    assert "Category 000" not in added and "Tag 000" not in added
    assert "<option" not in added.split('id="id_category"')[1].split("</fieldset>")[0]
    assert 'value="Category 001"' in changed and 'value="Tag 001"' in changed and 'value="Tag 002"' in changed
    assert "Category 002" not in changed and "Tag 003" not in changed
    assert 'data-name-search="/admin/publishing/post/names/category/"' in changed
    assert 'data-name-search="/admin/publishing/post/names/tags/"' in changed
    assert 'aria-label="Tag 1"' in changed and 'aria-label="Tag 4"' in changed  # two tags and two empty boxes


def test_a_post_is_saved_with_the_category_and_tags_named_in_any_letter_case(editor, many_names):
    response = client_for(editor).post(reverse("admin:publishing_post_add"),
                                       post_form(category="category 007", tags=["TAG 003", "", "tag 004", "Tag 003"]))

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    post = Post.objects.get(slug="hand-written")
    assert post.category.name == "Category 007"
    assert sorted(tag.name for tag in post.tags.all()) == ["Tag 003", "Tag 004"]


def test_a_tag_whose_name_holds_a_comma_is_one_tag(editor, many_names):
    Tag.objects.create(name="Cats, dogs", slug="cats-dogs")

    response = client_for(editor).post(reverse("admin:publishing_post_add"), post_form(tags=["Cats, dogs"]))

    assert response.status_code == 302
    assert [tag.name for tag in Post.objects.get(slug="hand-written").tags.all()] == ["Cats, dogs"]


def test_an_unknown_name_is_a_form_error_that_suggests_names_and_keeps_what_was_typed(editor, many_names):
    response = client_for(editor).post(reverse("admin:publishing_post_add"),
                                       post_form(category="Category 00", tags=["Tag 005", "Nope"]))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["category"] == ["No category is named “Category 00”. Names that contain it: Category 000, "
                                       "Category 001, Category 002, Category 003, Category 004."]
    assert form.errors["tags"] == ["No tag is named “Nope”. No tag's name contains it either."]
    page = response.content.decode()
    assert 'value="Category 00"' in page and 'value="Tag 005"' in page and 'value="Nope"' in page
    assert form["body"].value() == BODY
    assert not Post.objects.exists()


@pytest.mark.parametrize(("field", "value", "error"), [
    ("category", "Garden\x00ing", "A category's name cannot hold a NUL character or a lone surrogate."),
    ("category", "x" * 10_000, "A category's name has at most 100 characters; this one has 10,000."),
    ("category", "Garden\u202eing", "A category's name cannot hold the invisible character U+202E"),
    ("tags", ["Tag 001", "a\x00b"], "Tag 2: A tag's name cannot hold a NUL character or a lone surrogate."),
    ("tags", ["y" * 10_000], "Tag 1: A tag's name has at most 50 characters; this one has 10,000."),
], ids=["nul", "10-kB", "bidi", "tag-nul", "tag-10-kB"])
def test_text_no_name_can_hold_is_a_form_error_and_the_stored_post_is_unchanged(editor, many_names, field, value,
                                                                                  error):
    post = stored_post()
    before = as_stored(post)

    response = client_for(editor).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                       edit_form(post, title="Changed", **{field: value}))

    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors[field])
    assert as_stored(post) == before
    assert not PostChange.objects.filter(post=post).exists()


def test_a_lone_surrogate_in_a_name_is_a_form_error(editor, many_names):
    """A form posted to the site cannot carry one (Django decodes form bodies with replacement
    characters, and config.utf8_only refuses bytes that are not UTF-8): the form is asked directly."""
    request = RequestFactory().get("/admin/publishing/post/add/")
    request.user = editor
    form = admin.site._registry[Post].get_form(request)(data=post_form(category="Garden\ud800", tags=["\udfff"]))

    assert not form.is_valid()
    assert form.errors["category"] == ["A category's name cannot hold a NUL character or a lone surrogate."]
    assert form.errors["tags"] == ["Tag 1: A tag's name cannot hold a NUL character or a lone surrogate."]


def test_more_tags_than_a_post_may_have_are_a_form_error_and_the_stored_post_is_unchanged(editor, many_names):
    post = stored_post()
    before = as_stored(post)
    # 980 names and the form's other fields: up to Django's 1,000 fields a request (DATA_UPLOAD_MAX_NUMBER_FIELDS).
    names = [f"Tag {n}" for n in range(980)]

    response = client_for(editor).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                       edit_form(post, tags=names))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tags"] == [
        f"At most {POST_TAGS_MAX} tags can be chosen; this form gave 980."]
    assert as_stored(post) == before


def test_a_post_given_more_tags_before_the_limit_keeps_them_through_an_edit_but_gets_no_more(editor, many_names):
    """The form before the name boxes set no limit: such a post's editor could not save a new title
    until they took tags off."""
    more = POST_TAGS_MAX + 5
    Tag.objects.bulk_create(Tag(name=f"Old tag {n:03d}", slug=f"old-tag-{n:03d}") for n in range(more + 1))
    post = stored_post()
    post.tags.set(Tag.objects.filter(name__startswith="Old tag")[:more])
    client, url = client_for(editor), reverse("admin:publishing_post_change", args=[post.pk])

    retitled = client.post(url, edit_form(post, title="Retitled"))

    assert retitled.status_code == 302
    assert post.tags.count() == more and as_stored(post)[0] == "Retitled"
    one_more = client.post(url, edit_form(post, tags=[*(tag.name for tag in post.tags.all()), f"Old tag {more:03d}"]))
    assert one_more.status_code == 200
    assert one_more.context["adminform"].form.errors["tags"] == [
        f"At most {more} tags can be chosen; this form gave {more + 1}."]
    assert post.tags.count() == more


def test_a_thousand_tags_are_past_the_fields_a_request_may_carry_and_change_nothing(editor, many_names):
    post = stored_post()
    before = as_stored(post)

    response = client_for(editor).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                       edit_form(post, tags=[f"Tag {n}" for n in range(1_000)]))

    assert response.status_code == 400
    assert as_stored(post) == before


def test_a_post_whose_category_and_tags_are_left_as_they_were_records_no_change_of_them(editor, many_names):
    post = stored_post()

    response = client_for(editor).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                       edit_form(post, title="Retitled", category="CATEGORY 001"))

    assert response.status_code == 302
    assert as_stored(post) == ("Retitled", "Category 001", ["Tag 001", "Tag 002"])
    assert PostChange.objects.get(post=post).fields == ["title"]


def test_taking_a_tag_off_and_the_category_away(editor, many_names):
    post = stored_post()

    response = client_for(editor).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                       edit_form(post, category="", tags=["Tag 002", ""]))

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.category is None and [tag.name for tag in post.tags.all()] == ["Tag 002"]


# --- the search the boxes ask -------------------------------------------------------------------

def names(client, field: str, q) -> tuple[int, dict]:
    response = client.get(reverse("admin:publishing_post_names", args=[field]), {"q": q})
    return response.status_code, (response.json() if response.status_code == 200 else {})


def test_the_search_offers_the_names_that_contain_the_text_those_that_begin_with_it_first(editor, many_names):
    Tag.objects.create(name="Retag 005", slug="retag-005")
    client = client_for(editor)

    assert names(client, "tags", "tag 005") == (200, {"names": ["Tag 005", "Retag 005"], "more": False})
    assert names(client, "category", "Category 02") == (200, {"names": [f"Category {n:03d}" for n in range(20, 30)],
                                                                "more": False})
    status, found = names(client, "tags", "tag")
    assert status == 200 and len(found["names"]) == NAMES_SUGGESTED and found["more"] is True
    assert names(client, "category", "100%_") == (200, {"names": [], "more": False})
    assert names(client, "category", "x" * 10_000) == (200, {"names": [], "more": False})


def test_the_search_answers_a_nul_with_400_an_unknown_field_with_404_others_than_editors_with_403_a_post_405(
        editor, many_names):
    from tests.factories import make_user

    staff = make_user("staff-only")  # staff, in no group

    assert names(client_for(editor), "category", "a\x00b")[0] == 400
    assert names(client_for(editor), "title", "a")[0] == 404
    assert names(client_for(staff), "category", "a")[0] == 403
    assert client_for(editor).post(reverse("admin:publishing_post_names", args=["category"]), {"q": "a"}).status_code == 405
