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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_second_editor_is_warned_keeps_their_text_and_may_overwrite_on_purpose(two_editors_and_a_draft,
                                                                                   chromium):  # noqa: F811
    server, first, second, post = two_editors_and_a_draft
    path = reverse("admin:publishing_post_change", args=[post.pk])
    ana = _signed_in_page(chromium, server, first, path)
    ben = _signed_in_page(chromium, server, second, path)

    ana.fill("#id_body", "Start with leaves and grass.")
    ana.click("input[name=_continue]")
    ana.wait_for_selector(".messagelist .success")
    ben.fill("#id_title", "Compost, briefly")
    ben.click("input[name=_continue]")
    ben.wait_for_selector(".errornote")
    warning = " ".join(ben.locator(".errorlist.nonfield").inner_text().split())
    title_kept = ben.input_value("#id_title")
    _shot(ben, "post-edit-conflict")
    ben.click("input[name=_continue]")
    ben.wait_for_selector(".messagelist .success")
    saved = (ben.input_value("#id_title"), ben.input_value("#id_body"))
    ana.context.close()
    ben.context.close()

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
    path = reverse("admin:publishing_category_change", args=[category.pk])
    ana = _signed_in_page(chromium, server, first, path)
    ben = _signed_in_page(chromium, server, second, path)

    ana.fill("#id_description", "Beds, soil and compost.")
    ana.click("input[name=_continue]")
    ana.wait_for_selector(".messagelist .success")
    ben.fill("#id_name", "Gardens")
    ben.click("input[name=_continue]")
    ben.wait_for_selector(".errornote")
    warning = " ".join(ben.locator(".errorlist.nonfield").inner_text().split())
    name_kept = ben.input_value("#id_name")
    _shot(ben, "category-edit-conflict")
    ben.click("input[name=_continue]")
    ben.wait_for_selector(".messagelist .success")
    saved = (ben.input_value("#id_name"), ben.input_value("#id_description"))
    ana.context.close()
    ben.context.close()

    assert warning.startswith("ana changed this category at "), warning
    assert "saving this form again overwrites it" in warning
    assert name_kept == "Gardens"
    assert saved == ("Gardens", ""), "the second save overwrote on purpose"
