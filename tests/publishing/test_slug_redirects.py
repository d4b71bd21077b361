"""A post, category or tag whose slug a person changes keeps its old address: it answers a
permanent redirect (301) to the new one, so links already shared, indexed or in feed readers keep
working. A page that has the slug now always wins, and a page that is not public is not revealed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from publishing.models import Category, Post, SlugRedirect, Tag
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

PUBLISHED = {"published_at_0": "2020-01-01", "published_at_1": "10:00:00"}


def post_form(**overrides) -> dict:
    data = {"title": "Compost", "slug": "compost", "category": "", "excerpt": "", "body": "About compost.",
            "image_alt": "", "image_credit": "", "image_credit_url": "", **PUBLISHED}
    data.update(overrides)
    return data


def change_post_slug(user, post: Post, slug: str) -> None:
    response = client_for(user).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                     post_form(title=post.title, slug=slug))
    assert response.status_code == 302, response.context["adminform"].form.errors


def public_post(slug: str = "compost", title: str = "Compost") -> Post:
    return Post.objects.create(title=title, slug=slug, body="About compost.",
                               published_at=timezone.now() - timedelta(days=1))


def test_a_post_whose_slug_changed_answers_its_old_address_with_a_permanent_redirect(reviewer):
    post = public_post()

    change_post_slug(reviewer, post, "home-compost")

    response = Client().get("/posts/compost/")
    assert response.status_code == 301
    assert response["Location"] == "/posts/home-compost/"
    assert Client().get("/posts/home-compost/").status_code == 200


def test_every_earlier_address_of_a_post_leads_to_where_it_is_now(reviewer):
    post = public_post()
    change_post_slug(reviewer, post, "home-compost")
    change_post_slug(reviewer, post, "compost-at-home")

    for old in ("compost", "home-compost"):
        response = Client().get(f"/posts/{old}/")
        assert (response.status_code, response["Location"]) == (301, "/posts/compost-at-home/")


def test_a_post_that_takes_back_its_old_slug_is_shown_there_and_no_longer_redirected_away(reviewer):
    post = public_post()
    change_post_slug(reviewer, post, "home-compost")

    change_post_slug(reviewer, post, "compost")

    assert Client().get("/posts/compost/").status_code == 200
    assert (Client().get("/posts/home-compost/")["Location"]) == "/posts/compost/"
    assert list(SlugRedirect.objects.values_list("slug", flat=True)) == ["home-compost"]


def test_another_post_that_takes_an_old_address_is_shown_there(reviewer):
    moved = public_post()
    change_post_slug(reviewer, moved, "home-compost")

    public_post(slug="compost", title="A newer post on compost")

    response = Client().get("/posts/compost/")
    assert response.status_code == 200
    assert "A newer post on compost" in response.content.decode()


def test_the_old_address_of_a_post_that_is_no_longer_public_is_a_404_that_names_nothing(reviewer):
    post = public_post()
    change_post_slug(reviewer, post, "home-compost")
    Post.objects.filter(pk=post.pk).update(published_at=None, live_recorded_at=None)

    response = Client().get("/posts/compost/")

    assert response.status_code == 404
    assert "home-compost" not in response.content.decode()


def test_a_deleted_post_takes_its_old_addresses_with_it(reviewer):
    post = public_post()
    change_post_slug(reviewer, post, "home-compost")

    post.delete()

    assert not SlugRedirect.objects.exists()
    assert Client().get("/posts/compost/").status_code == 404


def test_a_post_saved_without_a_slug_change_leaves_no_redirect(reviewer):
    post = public_post()

    response = client_for(reviewer).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                         post_form(title="Compost, simply"))

    assert response.status_code == 302
    assert not SlugRedirect.objects.exists()


@pytest.mark.parametrize(("model", "url_prefix"), [(Category, "/category/"), (Tag, "/tag/")])
def test_a_category_or_tag_whose_slug_changed_answers_its_old_address_with_a_permanent_redirect(
        superuser, model, url_prefix):
    name = model.objects.create(name="Gardening", slug="gardening")
    post = public_post()
    if model is Category:
        Post.objects.filter(pk=post.pk).update(category=name)
    else:
        post.tags.add(name)
    admin_name = model._meta.model_name

    response = client_for(superuser).post(reverse(f"admin:publishing_{admin_name}_change", args=[name.pk]),
                                          {"name": "Gardening", "slug": "garden", "description": ""})

    assert response.status_code == 302
    old = Client().get(f"{url_prefix}gardening/")
    assert (old.status_code, old["Location"]) == (301, f"{url_prefix}garden/")
    assert Client().get(f"{url_prefix}garden/").status_code == 200
    assert Client().get(f"{url_prefix}never-was/").status_code == 404


def test_the_old_address_of_a_category_only_drafts_use_is_a_404_that_names_nothing(superuser):
    category = Category.objects.create(name="Gardening", slug="gardening")
    Post.objects.create(title="Draft", slug="draft", body="Not yet.", category=category)

    client_for(superuser).post(reverse("admin:publishing_category_change", args=[category.pk]),
                               {"name": "Gardening", "slug": "secret-garden", "description": ""})

    response = Client().get("/category/gardening/")
    assert response.status_code == 404
    assert "secret-garden" not in response.get("Location", "") + response.content.decode()


def test_a_redirect_leads_to_exactly_one_page():
    post, category = public_post(), Category.objects.create(name="Gardening", slug="gardening")

    with pytest.raises(IntegrityError), transaction.atomic():
        SlugRedirect.objects.create(slug="old", post=post, category=category)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlugRedirect.objects.create(slug="old")


def test_an_old_address_of_each_kind_leads_to_one_page():
    first, second = public_post(), public_post(slug="second", title="Second")
    SlugRedirect.objects.create(slug="old", post=first)
    SlugRedirect.objects.create(slug="old", category=Category.objects.create(name="Gardening", slug="gardening"))

    with pytest.raises(IntegrityError), transaction.atomic():
        SlugRedirect.objects.create(slug="old", post=second)
