"""The user admin (config/admin_users.py): an email address no mail header can carry is refused by
the form, an ordinary one is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_user
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


def change(user, email: str, *, date_joined=("2025-01-01", "00:00:00"), last_login=("", "")):
    data = {"username": user.username, "email": email, "first_name": "", "last_name": "", "is_active": "on",
            "is_staff": "on", "date_joined_0": date_joined[0], "date_joined_1": date_joined[1],
            "last_login_0": last_login[0], "last_login_1": last_login[1]}
    return client_for(make_user(is_superuser=True)).post(reverse("admin:auth_user_change", args=[user.pk]), data)


@pytest.mark.parametrize("email", ['"a\x0bBcc:victim@evil.example"@example.com', '"a\x7fb"@example.com',
                                   '"a\rb"@example.com'])
def test_an_address_with_control_characters_is_refused_by_the_user_form(email):
    user = make_user()

    response = change(user, email)

    assert response.status_code == 200
    assert "cannot contain control characters" in str(response.context["adminform"].form.errors["email"])
    user.refresh_from_db()
    assert user.email == ""


def test_an_ordinary_address_is_saved():
    user = make_user()
    assert change(user, "rita@example.com").status_code == 302
    user.refresh_from_db()
    assert user.email == "rita@example.com"


@pytest.mark.parametrize(("tz", "field", "day", "time"), [
    ("America/New_York", "date_joined", "9999-12-31", "23:00:00"),  # year 10000 in UTC
    ("Europe/Berlin", "date_joined", "0001-01-01", "00:00:00"),  # year 0 in UTC
    ("Europe/Berlin", "last_login", "9999-12-31", "12:00:00"),  # in range in UTC, year 10000 in Kiritimati
])
def test_a_date_no_time_zone_can_show_is_a_form_error_and_the_user_stays_readable(settings, tz, field, day, time):
    """Found by a date sweep: PostgreSQL stored what Python cannot read back, and from then on every
    page that loaded the user (their own requests, the user list, any list naming them) was a 500;
    a superuser who did it to their own account locked themselves out of the admin."""
    settings.TIME_ZONE = tz
    user = make_user()

    response = change(user, "rita@example.com", **{field: (day, time)})

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    settings.TIME_ZONE = "Pacific/Kiritimati"
    user.refresh_from_db()
    assert user.email == ""
