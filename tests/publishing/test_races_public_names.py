"""A category's slug changed by two people at once: each address it had stays a redirect."""

from __future__ import annotations

import pytest

from publishing.models import Category, SlugRedirect
from publishing.services.posts import public_name_save_by_person
from tests.publishing.races import run_while_holding


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
