"""Login lockout (django-axes): after PRESSROOM_LOGIN_FAILURE_LIMIT wrong passwords one username is
refused from one client address, on the admin login and the token endpoint alike, until the
cool-off passes or an admin clears it; other users and other addresses are not affected."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.api_errors import error_of
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"


@pytest.fixture
def no_auth_throttle():
    """The `auth` throttle (20/minute) would answer before the lockout does in these tests."""
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**original, "auth": "1000/minute"}
    yield
    ScopedRateThrottle.THROTTLE_RATES = original


def _admin_login(username, password, address=ATTACKER):
    return Client(REMOTE_ADDR=address).post("/admin/login/", {"username": username, "password": password})


def _token(username, password, address=ATTACKER):
    return APIClient().post("/api/auth/token", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address)


def _expire_cooloff(settings):
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME
                                 - timedelta(minutes=1))


def test_production_defaults_are_five_failures_and_fifteen_minutes_per_username_and_address(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_admin_login_locks_out_after_wrong_passwords_and_then_refuses_the_right_one(settings):
    make_user("victim")
    statuses = [_admin_login("victim", "wrong").status_code for _ in range(60)]
    assert statuses[:4] == [200] * 4  # the login form again, with its error
    assert set(statuses[5:]) == {429}

    response = _admin_login("victim", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    page = response.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page
    assert "_auth_user_id" not in response.client.session

    _expire_cooloff(settings)
    assert _admin_login("victim", PASSWORD).status_code == 302  # logged in, redirected


def test_token_endpoint_locks_out_with_a_json_error_and_works_after_the_cooloff(settings, no_auth_throttle):
    make_user("victim")
    statuses = [_token("victim", "wrong").status_code for _ in range(60)]
    assert statuses[:4] == [401] * 4
    assert set(statuses[5:]) == {429}

    response = _token("victim", PASSWORD)
    error_of(response, 429, "locked_out")
    assert int(response["Retry-After"]) == 15 * 60
    assert "access" not in response.json()

    _expire_cooloff(settings)
    assert _token("victim", PASSWORD).status_code == 200


def test_admin_and_token_endpoint_count_failures_together(no_auth_throttle):
    make_user("victim")
    for _ in range(3):
        _admin_login("victim", "wrong")
    for _ in range(2):
        _token("victim", "wrong")
    error_of(_token("victim", PASSWORD), 429, "locked_out")
    assert _admin_login("victim", PASSWORD).status_code == 429


def test_the_lockout_touches_neither_other_users_nor_the_same_user_elsewhere(no_auth_throttle):
    make_user("victim")
    make_user("bystander")
    for _ in range(10):
        _token("victim", "wrong")
    assert _token("victim", PASSWORD).status_code == 429
    assert _token("bystander", PASSWORD).status_code == 200
    assert _admin_login("bystander", PASSWORD).status_code == 302
    assert _token("victim", PASSWORD, address="198.51.100.20").status_code == 200


def test_the_lockout_is_listed_in_the_admin_and_an_admin_can_clear_it(no_auth_throttle):
    make_user("victim")
    root = make_user("root", is_superuser=True)
    for _ in range(5):
        _token("victim", "wrong")
    assert _token("victim", PASSWORD).status_code == 429

    admin = Client()
    admin.force_login(root)
    listing = admin.get("/admin/axes/accessattempt/?locked_out=yes")
    assert listing.status_code == 200
    assert "victim" in listing.content.decode() and ATTACKER in listing.content.decode()
    assert admin.get("/admin/axes/accessfailurelog/").status_code == 200

    attempt = AccessAttempt.objects.get(username="victim")
    cleared = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert cleared.status_code == 302
    assert _token("victim", PASSWORD).status_code == 200
