"""The API's JWT user lookup and the permission backend read by SQL written once per process:
the same user, the same refusals and exactly the permissions Django's own backend grants."""

import time
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken

from config.authentication import VALIDATED_TOKENS, JWTAuthentication, ValidatedTokens
from config.backends import PermissionsInOneQueryBackend
from config.rows import one_row
from tasks.models import ModelCatalogEntry
from tests.api_errors import error_of

pytestmark = pytest.mark.django_db


def _me(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client.get("/api/auth/me")


def test_a_token_authenticates_its_user(editor):
    response = _me(editor)
    assert response.status_code == 200, response.content
    assert response.json()["username"] == editor.username


def test_a_token_of_a_deleted_user_is_refused_as_user_not_found(editor):
    token = AccessToken.for_user(editor)
    editor.delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    error_of(client.get("/api/auth/me"), 401, "user_not_found")


def test_the_backend_grants_what_djangos_grants_directly_and_through_groups(editor):
    group = Group.objects.create(name="Extra")
    group.permissions.add(Permission.objects.get(codename="delete_generationtask"))
    editor.groups.add(group)
    editor.user_permissions.add(Permission.objects.get(codename="view_modelcatalogentry"))

    ours = PermissionsInOneQueryBackend().get_all_permissions(get_user_model().objects.get(pk=editor.pk))
    djangos = ModelBackend().get_all_permissions(get_user_model().objects.get(pk=editor.pk))

    assert ours == djangos
    assert {"tasks.delete_generationtask", "tasks.view_modelcatalogentry"} <= ours


def test_one_row_answers_as_get_does():
    default = ModelCatalogEntry.objects.get(is_default=True)

    row = one_row(ModelCatalogEntry, '"is_default"')

    assert row == default and row.key == default.key and row.input_price_per_million == default.input_price_per_million
    assert not row._state.adding and row._state.db == "default"
    with pytest.raises(ModelCatalogEntry.DoesNotExist):
        one_row(ModelCatalogEntry, '"key" = %s', ["no-such-model"])
    with pytest.raises(ModelCatalogEntry.MultipleObjectsReturned):
        one_row(ModelCatalogEntry, "true")


def test_a_tokens_user_comes_with_exactly_the_permissions_djangos_backend_grants(editor):
    group = Group.objects.create(name="Extra")
    group.permissions.add(Permission.objects.get(codename="delete_generationtask"))
    editor.groups.add(group)
    editor.user_permissions.add(Permission.objects.get(codename="view_modelcatalogentry"))
    authentication = JWTAuthentication()

    user = authentication.get_user(authentication.get_validated_token(str(AccessToken.for_user(editor))))

    assert user._perm_cache == ModelBackend().get_all_permissions(get_user_model().objects.get(pk=editor.pk))
    assert {"tasks.delete_generationtask", "tasks.view_modelcatalogentry"} <= user._perm_cache


def test_a_superusers_permissions_are_left_to_djangos_own_path(admin_user):
    authentication = JWTAuthentication()

    user = authentication.get_user(authentication.get_validated_token(str(AccessToken.for_user(admin_user))))

    assert not hasattr(user, "_perm_cache")
    assert user.has_perm("tasks.delete_generationtask")


def test_an_api_write_checks_its_permission_without_a_query_of_its_own(editor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(editor)}")

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/tasks", {"topic": "Permissions in one trip"}, format="json")

    assert response.status_code == 201, response.content
    reading_permissions = [query["sql"] for query in queries if '"auth_permission"' in query["sql"]]
    assert len(reading_permissions) == 1 and '"auth_user"' in reading_permissions[0]


def test_a_permission_taken_away_counts_from_the_next_request(editor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(editor)}")
    assert client.post("/api/tasks", {"topic": "Allowed"}, format="json").status_code == 201

    editor.groups.clear()

    error_of(client.post("/api/tasks", {"topic": "No longer allowed"}, format="json"), 403)


def _me_with(raw_token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return client.get("/api/auth/me")


def test_a_tokens_signature_is_checked_once_per_process_and_its_expiry_on_every_request(editor):
    token = AccessToken.for_user(editor)
    token.set_exp(lifetime=timedelta(seconds=2))
    raw = str(token)

    with patch.object(TokenBackend, "decode", autospec=True, side_effect=TokenBackend.decode) as decode:
        assert _me_with(raw).status_code == 200
        assert _me_with(raw).status_code == 200
        assert decode.call_count == 1
        time.sleep(2.1)
        error_of(_me_with(raw), 401, "token_not_valid")


def test_a_forged_token_is_refused_even_beside_a_validated_one(editor):
    raw = str(AccessToken.for_user(editor))
    assert _me_with(raw).status_code == 200
    header, payload, signature = raw.split(".")

    error_of(_me_with(f"{header}.{payload}.{signature[:-4]}AAAA"), 401, "token_not_valid")


def test_the_validated_tokens_are_bounded_and_forgotten_when_the_signing_settings_change(editor, settings):
    tokens = ValidatedTokens(size=2)
    for name in (b"one", b"two", b"three"):
        tokens.keep(name, AccessToken.for_user(editor))
    assert tokens.get(b"one") is None and tokens.get(b"three") is not None

    VALIDATED_TOKENS.keep(b"kept", AccessToken.for_user(editor))
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT}
    assert VALIDATED_TOKENS.get(b"kept") is None


def _signed_with(editor, token_class=AccessToken, **claims) -> str:
    token = token_class.for_user(editor)
    for name, value in claims.items():
        token[name] = value
    return str(token)


@pytest.mark.parametrize("claims", [{"user_id": "abc"}, {"user_id": ["1"]}, {"user_id": {"id": 1}}, {"exp": 10**30}],
                         ids=["user_id-text", "user_id-list", "user_id-object", "exp-past-year-9999"])
def test_a_signed_token_with_claims_of_the_wrong_kind_is_a_401(editor, claims):
    """Such a token needs the signing key, but a 500 is never the answer: the user id went to
    the id column's int() (ValueError, TypeError), and the expiry to a datetime past year 9999
    (OverflowError), all outside simplejwt's own TokenError."""
    response = _me_with(_signed_with(editor, **claims))

    assert error_of(response, 401)["code"] in {"user_not_found", "token_not_valid"}


def test_a_signed_refresh_token_expiring_past_year_9999_is_a_401_on_refresh_and_logout(editor):
    from rest_framework_simplejwt.tokens import RefreshToken

    raw = _signed_with(editor, RefreshToken, exp=10**30)

    for path in ("/api/auth/token/refresh", "/api/auth/logout"):
        assert error_of(APIClient().post(path, {"refresh": raw}, format="json"), 401)["code"] == "token_not_valid"


@pytest.mark.parametrize("jti", ["\x00", "a" * 256, "9" * 5000, None, ["a"], 10**30, ""],
                         ids=["nul", "past-the-column", "5000-digits", "missing", "list", "number", "empty"])
def test_a_signed_refresh_token_whose_id_the_token_lists_cannot_hold_is_a_401_on_refresh_and_logout(editor, jti):
    """The id (`jti`) is looked up in the blacklist and stored in the list of issued tokens, a
    varchar(255): a NUL or a longer id was a DataError there, a missing one a KeyError — 500s."""
    from rest_framework_simplejwt.tokens import RefreshToken

    token = RefreshToken.for_user(editor)
    if jti is None:
        del token["jti"]
    else:
        token["jti"] = jti
    raw = str(token)

    for path, body in [("/api/auth/token/refresh", {"refresh": raw}), ("/api/auth/logout", {"refresh": raw}),
                       ("/api/auth/logout", {"refresh": raw, "everywhere": True})]:
        assert error_of(APIClient().post(path, body, format="json"), 401)["code"] == "token_not_valid", (path, body)
