"""The task list against hostile query strings and selections: the row endpoint that
live-progress.js calls with the list's own query string answers a filter the list cannot apply
(an unknown field, a value of the wrong type, a date no calendar has) with 400, as the list
itself refuses it, never a 500; a list action refused for many tasks says so once per reason."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_task
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", [
    "foo=bar",
    "created_at__year=0",
    "created_at__year=99999999999",
    "created_at__day=31&created_at__month=2&created_at__year=2020",
    "created_at__gte=garbage",
    "id__exact=xyz",
    "priority__exact=1e400",
    "model__id__exact=x",
])
def test_a_row_asked_for_with_a_filter_the_list_cannot_apply_is_a_400(editor, query):
    task = make_task(created_by=editor)
    url = reverse("admin:tasks_generationtask_row", args=[task.pk])

    response = client_for(editor).get(f"{url}?{query}")

    assert response.status_code == 400


def test_a_row_asked_for_with_the_lists_valid_filters_is_still_rendered(editor):
    task = make_task(created_by=editor)
    url = reverse("admin:tasks_generationtask_row", args=[task.pk])

    response = client_for(editor).get(f"{url}?status__exact={task.status}&o=-1")

    assert response.status_code == 200
    assert str(task.pk) in response.content.decode()


def test_a_list_action_refused_for_many_tasks_says_so_once_per_reason(editor):
    """Cancel over a whole list of finished tasks (select across) was one warning per task: 12
    identical lines here, 50,000 carried in the session on a long list."""
    finished = [make_task(created_by=editor, status="completed", finished_at=timezone.now()) for _ in range(12)]
    queued = make_task(created_by=editor)

    response = client_for(editor).post(
        reverse("admin:tasks_generationtask_changelist"),
        {"action": "cancel_tasks", "select_across": "1", "index": "0",
         "_selected_action": [str(task.pk) for task in [*finished, queued]]},
        follow=True,
    )

    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1
    assert warnings[0].startswith("12 tasks (")
    assert "only queued or running tasks can be cancelled" in warnings[0]
    queued.refresh_from_db()
    assert queued.status == "cancelled"
