"""Add forms prefilled from the query string (`/add/?field=value`, as Django allows): a date and
time there is a string, which the admin's split date-time widget read as a datetime and failed on
("'str' object has no attribute 'utcoffset'"), a 500 for any value, even a valid one. A value
that reads as a date and time is now shown; one that does not is left out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

POST_ADD = reverse("admin:publishing_post_add")


@pytest.mark.parametrize("value", ["9999", "x", "2027-13-45 99:99", "1e400", "10000-01-01 00:00"])
def test_a_publication_time_prefilled_from_the_query_string_that_is_no_time_is_left_out(reviewer, value):
    response = client_for(reviewer).get(f"{POST_ADD}?published_at={value}&title=Prefilled")

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form["published_at"].value() in (None, "")
    assert form["title"].value() == "Prefilled"


def test_a_publication_time_prefilled_from_the_query_string_is_shown(reviewer):
    response = client_for(reviewer).get(f"{POST_ADD}?published_at=2027-01-02%2010:30")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="2027-01-02"' in page and 'value="10:30:00"' in page


def test_a_schedule_prefilled_with_a_next_run_that_is_no_time_still_opens(superuser):
    response = client_for(superuser).get(f"{reverse('admin:django_q_schedule_add')}?next_run=9999")

    assert response.status_code == 200
