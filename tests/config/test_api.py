"""API groundwork: JWT tokens, one error shape for every 4xx, schema and docs, slashes."""

import threading

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_endpoint_issues_tokens_that_authenticate(api_client, editor):
    response = api_client.post("/api/auth/token", {"username": "editor1", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    access, refresh = response.json()["access"], response.json()["refresh"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = api_client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "editor1"
    assert me.json()["groups"] == ["Editors"]
    assert me.json()["can_publish"] is False

    refreshed = api_client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert refreshed.status_code == 200
    assert "access" in refreshed.json()


def test_token_endpoint_rejects_bad_credentials_in_the_error_shape(api_client, editor):
    response = api_client.post("/api/auth/token", {"username": "editor1", "password": "wrong"}, format="json")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "no_active_account"
    assert "credentials" in error["message"]
    assert error["fields"] == {}


def test_missing_fields_give_a_field_level_400(api_client):
    response = api_client.post("/api/auth/token", {"username": "someone"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert body["error"]["fields"] == {"password": ["This field is required."]}


def test_malformed_json_is_a_400_in_the_error_shape(api_client):
    response = api_client.post("/api/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_bad_bearer_token_is_a_401_in_the_error_shape(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api_client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_unknown_api_path_is_a_404_in_the_error_shape(api_client):
    response = api_client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No API endpoint at this path.", "fields": {}}
    }


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_is_a_404_in_the_error_shape_for_every_method(editor, method):
    """With a bearer token and no CSRF cookie, as a script sends it (it was Django's HTML 403)."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(editor)}")
    response = getattr(client, method)("/api/no-such-thing", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/tasks", "/api/tasks/estimate", "/api/auth/token"])
def test_a_body_past_the_upload_limit_is_a_413_in_the_error_shape(editor_client, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = editor_client.post(path, {"topic": "Compost", "pad": "x" * 20_000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large", "message": "The request body is larger than the API accepts (10,000 bytes).", "fields": {}}


def test_a_form_past_the_field_limit_is_a_400_in_the_error_shape(api_client, settings):
    """The token endpoint also takes a form (multipart), where Django counts the fields."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = api_client.post("/api/auth/token", {f"field{i}": "x" for i in range(20)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid", "fields": {},
        "message": "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS."}


def test_wrong_method_is_a_405_in_the_error_shape(api_client):
    response = api_client.get("/api/auth/token")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_token_endpoint_is_throttled_with_retry_after(api_client, settings, editor):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**ScopedRateThrottle.THROTTLE_RATES, "auth": "3/minute"}
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [
            api_client.post("/api/auth/token", {"username": "editor1", "password": "x"}, format="json").status_code
            for _ in range(4)
        ]
        response = api_client.post("/api/auth/token", {"username": "editor1", "password": PASSWORD}, format="json")
    finally:
        ScopedRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert statuses == [401, 401, 401, 429]
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


@pytest.mark.parametrize("path", ["/api/schema", "/api/schema/"])
def test_openapi_schema_is_served_with_and_without_slash(path, editor_client):
    response = editor_client.get(path, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert "/api/auth/token" in str(response.json()["paths"])



class SignallingLock:
    """A lock that says when a thread finds it held and waits (`waiting`)."""

    def __init__(self, waiting):
        self.lock, self.waiting = threading.Lock(), waiting

    def __enter__(self):
        if self.lock.locked():
            self.waiting.set()
        self.lock.acquire()

    def __exit__(self, *exc):
        self.lock.release()


def test_two_schema_requests_at_once_are_generated_one_after_the_other(monkeypatch):
    """Found by a sweep through Daphne, whose threads answer requests side by side: two generations
    at once shared DRF's per-class schema inspectors, and one of them failed with a 500 ("Schema
    generation REQUIRES a view instance"). Here the first generation waits until the second request
    is either waiting for it or generating beside it; only the first is right."""
    import config.urls
    from drf_spectacular.generators import SchemaGenerator

    first_started, second_arrived, counting = threading.Event(), threading.Event(), threading.Lock()
    active, most = [0], [0]
    original = SchemaGenerator.get_schema

    def get_schema(self, *args, **kwargs):
        with counting:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            if not first_started.is_set():
                first_started.set()
                second_arrived.wait(timeout=30)
            else:
                second_arrived.set()
            return original(self, *args, **kwargs)
        finally:
            with counting:
                active[0] -= 1

    monkeypatch.setattr(SchemaGenerator, "get_schema", get_schema)
    monkeypatch.setattr(config.urls, "SCHEMA_GENERATION", SignallingLock(second_arrived), raising=False)
    statuses = {}

    def fetch(name):
        statuses[name] = Client().get("/api/schema").status_code

    first = threading.Thread(target=fetch, args=("first",))
    first.start()
    assert first_started.wait(timeout=60)
    second = threading.Thread(target=fetch, args=("second",))
    second.start()
    first.join(timeout=120)
    second.join(timeout=120)

    assert statuses == {"first": 200, "second": 200}
    assert most[0] == 1, "two generations ran at once"


def test_interactive_docs_page_renders_from_our_own_static_files(editor_client):
    import re

    response = editor_client.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger" in page.lower()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui" in asset for asset in assets)
    assert [asset for asset in assets if asset.startswith(("http:", "https:", "//"))] == []


@pytest.mark.parametrize("path", ["/api/docs", "/api/docs/", "/api/docs?script"])
def test_options_on_the_docs_page_names_its_methods(path, api_client, editor_client):
    """DRF answers OPTIONS with a description of the view, which the page's HTML renderer has no
    template for: a 500 (TemplateDoesNotExist) for anyone."""
    for client in (api_client, editor_client):
        response = client.options(path)

        assert response.status_code == 200
        assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_api_requires_authentication_by_default(api_client):
    response = api_client.get("/api/auth/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_authentication_works_for_logged_in_admin_users(reviewer):
    client = Client()
    client.force_login(reviewer)
    response = client.get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json()["can_review"] is True
    assert response.json()["can_publish"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/token/refresh", "/api/tasks", "/api/tasks/estimate"])
def test_a_deeply_nested_json_body_is_a_clear_400_everywhere(editor_client, path):
    body = "[" * 5000 + "]" * 5000
    response = editor_client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("JSON parse error")
