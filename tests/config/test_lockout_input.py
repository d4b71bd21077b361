"""What the lockout records comes from the request: input it cannot store is a 400, never a 500."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api_errors import error_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body_format", ["json", "multipart"])
def test_a_username_longer_than_any_user_can_have_is_a_400(body_format):
    response = APIClient().post("/api/auth/token", {"username": "a" * 300, "password": "x"}, format=body_format)
    assert "username" in error_of(response, 400, "invalid")["fields"]


def test_a_long_user_agent_is_no_trouble(db):
    response = APIClient().post("/api/auth/token", {"username": "nobody", "password": "x"}, format="json",
                                HTTP_USER_AGENT="u" * 5000)
    assert response.status_code == 401


@pytest.mark.parametrize("length", [151, 256, 5000])
def test_the_admin_login_refuses_a_username_longer_than_any_user_can_have_with_a_form_error(db, length):
    """Django sets the field's maximum after building it, so nothing checked it: a name longer
    than the lockout's column (255) was a 500."""
    response = Client().post("/admin/login/", {"username": "v" * length, "password": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [
        f"Ensure this value has at most 150 characters (it has {length})."]
