"""Two editors change one hand-written post (two reviewers one category) in Chromium: the second is
warned, not overwritten."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from publishing.models import Category, Post
from publishing.roles import EDITORS, REVIEWERS
from tests.factories import make_user
from tests.processes import WebServer
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_browser import _shot, _signed_in_page
from tests.tasks.test_admin_live_progress import chromium  # noqa: F401 (fixture)


@pytest.fixture
def two_editors_and_a_draft(tmp_path):
    ensure_seed_data()
    first, second = make_user("ana"), make_user("ben")
    for editor in (first, second):
        editor.groups.add(Group.objects.get(name=EDITORS))
    post = Post.objects.create(title="Compost notes", slug="compost-notes", body="Start with leaves.")
    with WebServer(tmp_path) as server:
        yield server, first, second, post


def _second_save_after_the_first(chromium, server, first, second, path, *, first_edit, second_edit,  # noqa: F811
                                 shown, screenshot):
    """`first` and `second` open `path`; `first` saves `first_edit` (field id, value), then `second`
    saves `second_edit`, is warned, and saves again. What `second` saw: the warning, the typed value
    kept, and the `shown` fields' values after the second save."""
    one = _signed_in_page(chromium, server, first, path)
    two = _signed_in_page(chromium, server, second, path)
    one.fill(*first_edit)
    one.click("input[name=_continue]")
    one.wait_for_selector(".messagelist .success")
    two.fill(*second_edit)
    two.click("input[name=_continue]")
    two.wait_for_selector(".errornote")
    warning = " ".join(two.locator(".errorlist.nonfield").inner_text().split())
    kept = two.input_value(second_edit[0])
    _shot(two, screenshot)
    two.click("input[name=_continue]")
    two.wait_for_selector(".messagelist .success")
    saved = tuple(two.input_value(field) for field in shown)
    one.context.close()
    two.context.close()
    return warning, kept, saved


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_second_editor_is_warned_keeps_their_text_and_may_overwrite_on_purpose(two_editors_and_a_draft,
                                                                                   chromium):  # noqa: F811
    server, first, second, post = two_editors_and_a_draft
    warning, title_kept, saved = _second_save_after_the_first(
        chromium, server, first, second, reverse("admin:publishing_post_change", args=[post.pk]),
        first_edit=("#id_body", "Start with leaves and grass."), second_edit=("#id_title", "Compost, briefly"),
        shown=("#id_title", "#id_body"), screenshot="post-edit-conflict")

    assert warning.startswith("ana changed this post at "), warning
    assert "saving this form again overwrites it" in warning
    assert title_kept == "Compost, briefly"
    assert saved == ("Compost, briefly", "Start with leaves."), "the second save overwrote on purpose"


@pytest.fixture
def two_reviewers_and_a_category(tmp_path):
    ensure_seed_data()
    first, second = make_user("ana"), make_user("ben")
    for reviewer in (first, second):
        reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    category = Category.objects.create(name="Gardening", slug="gardening")
    with WebServer(tmp_path) as server:
        yield server, first, second, category


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_second_reviewer_changing_a_category_is_warned_and_may_overwrite_on_purpose(two_reviewers_and_a_category,
                                                                                       chromium):  # noqa: F811
    server, first, second, category = two_reviewers_and_a_category
    warning, name_kept, saved = _second_save_after_the_first(
        chromium, server, first, second, reverse("admin:publishing_category_change", args=[category.pk]),
        first_edit=("#id_description", "Beds, soil and compost."), second_edit=("#id_name", "Gardens"),
        shown=("#id_name", "#id_description"), screenshot="category-edit-conflict")

    assert warning.startswith("ana changed this category at "), warning
    assert "saving this form again overwrites it" in warning
    assert name_kept == "Gardens"
    assert saved == ("Gardens", ""), "the second save overwrote on purpose"
