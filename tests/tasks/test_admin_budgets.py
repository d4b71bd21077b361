"""The budgets' admin with many users and a long history: the add form's user is typed by name
(`config.admin_names`), not chosen from a list of every user, and a budget's page shows its newest
changes with a link to all of them, as a task's page does.

With 5,000 users the add form was 261 kB; a budget changed 2,000 times listed every change, 164 kB
(docs/reliability.md, rows 37 and 38)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tasks.admin_history import HISTORY_ROWS_SHOWN
from tasks.models import CostBudget, CostBudgetChange
from tasks.services import budget_set
from tests.factories import make_user
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

CHANGES = HISTORY_ROWS_SHOWN + 10


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


def test_a_budgets_page_shows_its_newest_changes_and_links_to_all_of_them(reviewer, editor):
    for n in range(CHANGES):
        budget_set(user=editor, monthly_limit=Decimal(n + 1), by=reviewer, reason=f"Change {n + 1}")
    other = make_user("someone-else")
    budget_set(user=other, monthly_limit=Decimal(5), by=reviewer, reason="Another user's")
    client = client_for(reviewer)

    page = client.get(reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.get(user=editor).pk]))
    all_url = f"{reverse('admin:tasks_costbudgetchange_changelist')}?user__id__exact={editor.pk}"
    listed = client.get(all_url)

    html = page.content.decode()
    history = html.split('class="budget-history"')[1].split("</ul>")[0]
    assert history.count("<li>") == HISTORY_ROWS_SHOWN
    assert f"Change {CHANGES}" in history and f"Change {CHANGES - HISTORY_ROWS_SHOWN}<" not in history
    assert history.index(f"Change {CHANGES}<") < history.index(f"Change {CHANGES - 1}<"), "newest first"
    assert (f"The newest {HISTORY_ROWS_SHOWN} of {CHANGES} cost budget changes, newest first. "
            f'<a href="{all_url.replace("&", "&amp;")}">All {CHANGES} cost budget changes</a>') in html
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == CHANGES
    assert "Another user" not in listed.content.decode()


def test_a_budget_with_few_changes_lists_them_all_without_a_link(reviewer, editor):
    budget_set(user=editor, monthly_limit=Decimal(20), by=reviewer, reason="Trial")

    html = client_for(reviewer).get(
        reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.get(user=editor).pk])).content.decode()

    assert "Trial" in html and "newest-rows-note" not in html


def test_the_changes_list_is_read_only_and_for_those_who_may_view_budgets(reviewer, editor):
    budget_set(user=editor, monthly_limit=Decimal(20), by=reviewer, reason="Trial")
    change = CostBudgetChange.objects.get()

    assert client_for(editor).get(reverse("admin:tasks_costbudgetchange_changelist")).status_code == 403
    assert client_for(reviewer).get(reverse("admin:tasks_costbudgetchange_add")).status_code == 403
    page = client_for(reviewer).get(reverse("admin:tasks_costbudgetchange_change", args=[change.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
