"""What the lockout records comes from the request: input it cannot store is a 400, never a 500."""

import pytest
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
