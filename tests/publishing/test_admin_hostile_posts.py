"""Hand-written posts against hostile form bodies: a publication time out of range (year 1, or
9999-12-31 23:59:59 in New York, year 10000 in UTC) or a reserved slug is a form error with what
was typed kept on the page. The form asked the publishing rules about the post as it was before
the form's values were applied, so these passed the form, the save refused them, and the editor
was sent to an empty add page: the whole post typed was lost. A title, category or tag name holding
a character that changes how the text around it is shown is refused as a brief's is."""

from __future__ import annotations

import pytest
from django.urls import reverse

from publishing.models import Category, Post, Tag
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

BODY = "A long post typed by hand, which must not be lost."


def post_form(**overrides) -> dict:
    data = {"title": "Hand-written", "slug": "hand-written", "category": "", "excerpt": "", "body": BODY,
            "image_alt": "", "image_credit": "", "image_credit_url": "", "published_at_0": "", "published_at_1": ""}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("tz", "day", "time"), [
    ("UTC", "0001-01-01", "00:00:00"),
    ("UTC", "1999-12-31", "23:59:59"),
    ("America/New_York", "9999-12-31", "23:59:59"),
    # More than a hundred years ahead (before, anything up to year 9999 in UTC was taken, and
    # 9999-12-31 23:30 UTC could then not be shown in any zone east of UTC).
    ("Pacific/Kiritimati", "9999-12-31", "23:59:59"),
    ("Europe/Berlin", "2200-01-01", "00:00:00"),
])
def test_a_publication_time_out_of_range_is_a_form_error_that_keeps_the_post(settings, reviewer, tz, day, time):
    settings.TIME_ZONE = tz

    response = client_for(reviewer).post(reverse("admin:publishing_post_add"),
                                         post_form(published_at_0=day, published_at_1=time))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "published_at" in form.errors
    assert form["body"].value() == BODY
    assert not Post.objects.exists()


def test_a_reserved_slug_is_a_form_error_that_keeps_the_post(reviewer):
    response = client_for(reviewer).post(reverse("admin:publishing_post_add"), post_form(slug="search"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "slug" in form.errors
    assert form["body"].value() == BODY
    assert not Post.objects.exists()


def test_changing_a_draft_to_a_time_out_of_range_is_a_form_error_and_the_draft_is_unchanged(reviewer):
    draft = Post.objects.create(title="Draft", slug="draft", body="Old body.")
    url = reverse("admin:publishing_post_change", args=[draft.pk])

    response = client_for(reviewer).post(url, post_form(title="Draft", slug="draft", published_at_0="0001-01-01",
                                                        published_at_1="00:00:00"))

    assert response.status_code == 200
    assert "published_at" in response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert (draft.body, draft.published_at) == ("Old body.", None)


def test_an_editor_still_cannot_publish_through_the_form(editor):
    response = client_for(editor).post(reverse("admin:publishing_post_add"),
                                       post_form(published_at_0="2030-01-01", published_at_1="10:00:00"))

    # published_at is read-only for an editor: the post is saved as a draft
    assert response.status_code == 302
    assert Post.objects.get().published_at is None


@pytest.mark.parametrize("hidden", ["\u202e", "\u2066", "\x1b", "\u2028"])
def test_a_title_with_a_character_that_changes_how_it_is_shown_is_a_form_error_that_keeps_the_post(editor, hidden):
    response = client_for(editor).post(reverse("admin:publishing_post_add"), post_form(title=f"Tips {hidden}evil"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "invisible character" in " ".join(form.errors["title"])
    assert form["body"].value() == BODY
    assert not Post.objects.exists()


@pytest.mark.parametrize(("model", "fields"), [
    (Category, {"name": "Garden\u202eing", "slug": "gardening", "description": ""}),
    (Tag, {"name": "so\u202eil", "slug": "soil"}),
])
def test_a_category_or_tag_name_with_a_character_that_changes_how_it_is_shown_is_refused(reviewer, model, fields):
    url = reverse(f"admin:publishing_{model._meta.model_name}_add")

    response = client_for(reviewer).post(url, fields)

    assert response.status_code == 200
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in " ".join(response.context["adminform"].form.errors["name"])
    assert not model.objects.exists()


def test_right_to_left_text_itself_is_a_title_and_a_name_like_any_other(reviewer):
    client = client_for(reviewer)

    client.post(reverse("admin:publishing_category_add"), {"name": "حديقة", "slug": "حديقة", "description": ""})
    response = client.post(reverse("admin:publishing_post_add"), post_form(title="مرحبا بالعالم", slug="marhaba"))

    assert response.status_code == 302
    assert Post.objects.get().title == "مرحبا بالعالم"
    assert Category.objects.get().name == "حديقة"
