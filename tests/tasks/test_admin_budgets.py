"""The budgets' admin with many users: the add form's user is typed by name (`config.admin_names`),
not chosen from a list of every user.

With 5,000 users the add form was 261 kB (docs/reliability.md, rows 37 and 38)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tasks.models import CostBudget, CostBudgetChange
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_users(db):
    get_user_model().objects.bulk_create(get_user_model()(username=f"writer-{n:03d}") for n in range(30))


def test_the_add_form_names_no_user(reviewer, many_users):
    page = client_for(reviewer).get(reverse("admin:tasks_costbudget_add")).content.decode()

    assert "writer-0" not in page
    assert 'data-name-search="/admin/tasks/costbudget/names/user/"' in page


def test_a_budget_is_added_for_the_user_named_and_an_unknown_one_is_a_form_error(reviewer, many_users):
    client = client_for(reviewer)

    unknown = client.post(reverse("admin:tasks_costbudget_add"),
                          {"user": "writer-01", "monthly_limit": "20.00", "reason": "Trial"})
    refused_case = client.post(reverse("admin:tasks_costbudget_add"),
                               {"user": "WRITER-001", "monthly_limit": "20.00", "reason": "Trial"})
    added = client.post(reverse("admin:tasks_costbudget_add"),
                        {"user": "writer-001", "monthly_limit": "20.00", "reason": "Trial"})

    assert unknown.status_code == 200
    assert unknown.context["adminform"].form.errors["user"] == [
        "No user is named “writer-01”. Names that contain it: writer-010, writer-011, writer-012, writer-013, "
        "writer-014."]
    assert 'value="writer-01"' in unknown.content.decode()
    assert refused_case.status_code == 200, "usernames that differ in letter case are two users"
    assert added.status_code == 302
    assert CostBudget.objects.get().user.username == "writer-001"


@pytest.mark.parametrize(("user", "error"), [
    ("writer\x00001", "A user's name cannot hold a NUL character or a lone surrogate."),
    ("w" * 10_000, "A user's name has at most 150 characters; this one has 10,000."),
    ("", "This field is required."),
], ids=["nul", "10-kB", "empty"])
def test_text_no_username_can_hold_is_a_form_error_and_nothing_is_stored(reviewer, many_users, user, error):
    response = client_for(reviewer).post(reverse("admin:tasks_costbudget_add"),
                                         {"user": user, "monthly_limit": "20.00", "reason": "Trial"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["user"] == [error]
    assert not CostBudget.objects.exists() and not CostBudgetChange.objects.exists()


def test_the_user_search_answers_reviewers_and_refuses_editors(reviewer, editor, many_users):
    url = reverse("admin:tasks_costbudget_names", args=["user"])

    found = client_for(reviewer).get(url, {"q": "ITER-02"})

    assert found.status_code == 200
    assert found.json() == {"names": [f"writer-{n:03d}" for n in range(20, 30)], "more": False}
    assert client_for(editor).get(url, {"q": "a"}).status_code == 403
