"""The user admin (config/admin_users.py): an email address no mail header can carry is refused by
the form, an ordinary one is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_user
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


def change(user, email: str):
    data = {"username": user.username, "email": email, "first_name": "", "last_name": "", "is_active": "on",
            "is_staff": "on", "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00",
            "last_login_0": "", "last_login_1": ""}
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
