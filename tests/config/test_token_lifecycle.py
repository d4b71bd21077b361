"""API token lifecycle: refresh tokens rotate and work once, a password change or deactivation
ends a user's access and refresh tokens, and logging out ends a refresh token (or all of them)."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from tests.api_errors import error_of
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(username="editor1") -> dict:
    response = APIClient().post("/api/auth/token", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/auth/me")


def _refresh(refresh):
    return APIClient().post("/api/auth/token/refresh", {"refresh": refresh}, format="json")


def _logout(refresh, **extra):
    return APIClient().post("/api/auth/logout", {"refresh": refresh, **extra}, format="json")


def test_a_refresh_token_works_once_and_returns_a_new_one(editor):
    tokens = _login()
    first = _refresh(tokens["refresh"])
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]
    error_of(_refresh(tokens["refresh"]), 401, "token_not_valid")  # reuse of the used token
    assert _refresh(first.json()["refresh"]).status_code == 200


def test_a_password_change_ends_access_and_refresh_tokens(editor):
    tokens = _login()
    assert _me(tokens["access"]).status_code == 200
    editor.set_password("a-new-and-long-password")
    editor.save()
    error_of(_me(tokens["access"]), 401, "password_changed")
    error_of(_refresh(tokens["refresh"]), 401)


def test_deactivation_ends_access_and_refresh_tokens(editor):
    tokens = _login()
    editor.is_active = False
    editor.save()
    error_of(_me(tokens["access"]), 401, "user_inactive")
    error_of(_refresh(tokens["refresh"]), 401)
    editor.is_active = True
    editor.save()
    error_of(_refresh(tokens["refresh"]), 401)  # reactivating does not bring old sessions back


def test_signing_in_again_leaves_other_sessions_alone(editor):
    laptop = _login()
    _login()  # saves last_login on the user
    assert _refresh(laptop["refresh"]).status_code == 200
    assert _me(laptop["access"]).status_code == 200


def test_logout_ends_the_refresh_token(editor):
    tokens, phone = _login(), _login()
    response = _logout(tokens["refresh"])
    assert response.status_code == 204
    error_of(_refresh(tokens["refresh"]), 401, "token_not_valid")
    assert _refresh(phone["refresh"]).status_code == 200  # the other session goes on
    error_of(_logout(tokens["refresh"]), 401, "token_not_valid")


def test_logout_everywhere_ends_every_refresh_token_of_the_user(editor, reviewer):
    laptop, phone = _login(), _login()
    other = _login("reviewer1")
    assert _logout(laptop["refresh"], everywhere=True).status_code == 204
    error_of(_refresh(phone["refresh"]), 401)
    assert _refresh(other["refresh"]).status_code == 200


def test_logout_with_a_malformed_token_is_a_401_in_the_error_shape(db):
    error_of(_logout("not-a-token"), 401, "token_not_valid")
    error_of(APIClient().post("/api/auth/logout", {}, format="json"), 400, "invalid")


def test_the_openapi_schema_lists_the_logout_endpoint(editor_client):
    schema = editor_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    logout = schema["paths"]["/api/auth/logout/"]["post"]
    assert "204" in logout["responses"]
    assert "everywhere" in str(schema["components"]["schemas"]["LogoutInputRequest"])


def test_a_deleted_users_refresh_token_is_a_401(editor):
    tokens = _login()
    editor.delete()
    error_of(_refresh(tokens["refresh"]), 401)
    error_of(_me(tokens["access"]), 401)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_sent_several_times_at_once_works_once(editor):
    """A stolen refresh token raced against its owner must not split into several sessions.
    Eight refreshes of one token released together, three times over (the race is a matter of
    timing: without the lock, most rounds let two or more through)."""
    for _ in range(3):
        cache.clear()  # each round within the auth rate limit (20 a minute per address)
        assert sorted(_refresh_together(_login()["refresh"], times=8)) == [200] + [401] * 7


def _refresh_together(refresh_token: str, *, times: int) -> list[int]:
    start, answers = threading.Barrier(times), []

    def refresh():
        try:
            start.wait(timeout=10)
            answers.append(_refresh(refresh_token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def _forget_tokens_issued_since(listed_before: set[int]) -> None:
    """What restoring a database dumped before these tokens were issued does to the token lists:
    their rows, and the blacklisting of those used since, are gone."""
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    OutstandingToken.objects.exclude(pk__in=listed_before).delete()  # their blacklist rows go with them


def _listed() -> set[int]:
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    return set(OutstandingToken.objects.values_list("pk", flat=True))


def test_a_refresh_token_issued_after_the_restored_dump_is_refused(editor):
    """A database restored from a dump taken before the token was issued does not list it: like a
    session created since, it ends (401), instead of working, and working again after the user
    logs out everywhere (which ends only the tokens the database lists)."""
    before = _listed()
    tokens = _login()
    _forget_tokens_issued_since(before)
    error_of(_refresh(tokens["refresh"]), 401, "token_not_valid")
    error_of(_logout(tokens["refresh"]), 401, "token_not_valid")


def test_after_a_restore_logging_out_everywhere_ends_the_tokens_issued_after_the_dump(editor):
    before = _listed()
    stolen = _login()
    _forget_tokens_issued_since(before)
    mine = _login()
    assert _logout(mine["refresh"], everywhere=True).status_code == 204
    error_of(_refresh(stolen["refresh"]), 401, "token_not_valid")
