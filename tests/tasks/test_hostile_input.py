"""Hostile input never gives a 500: deep JSON, NUL and lone surrogates, NUL and out-of-range
values in query strings — each is a clear 400 (or, in the admin, an ignored filter)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tasks.models import GenerationTask
from tests.tasks.admin_support import client_for
from tests.tasks.task_api import BRIEF

pytestmark = pytest.mark.django_db

API_BODY_PATHS = ["/api/auth/token", "/api/auth/token/refresh", "/api/tasks"]


def assert_api_400(response, *, mentions: str = "") -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert mentions in json.dumps(error, ensure_ascii=False), error
    return error


@pytest.mark.parametrize("depth", [1_000, 5_000])
@pytest.mark.parametrize("path", API_BODY_PATHS)
def test_deeply_nested_json_in_any_api_body_is_a_400(path, depth, editor_client):
    client = editor_client if path == "/api/tasks" else APIClient()
    body = "[" * depth + "]" * depth

    response = client.post(path, data=body, content_type="application/json")

    assert_api_400(response, mentions="nested too deeply")


def test_deeply_nested_metadata_is_a_400_and_nothing_is_stored(editor_client):
    body = json.dumps(BRIEF)[:-1] + ', "metadata": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}"

    response = editor_client.post("/api/tasks", data=body, content_type="application/json")

    assert_api_400(response, mentions="nested too deeply")
    assert not GenerationTask.objects.exists()


def test_metadata_nested_past_the_limit_is_a_400_even_when_python_can_parse_it(editor_client):
    """850 levels parse at the API's stack depth and were stored, but the admin's page of the
    finished task renders them from a deeper one: RecursionError, a 500 on that page for good."""
    body = json.dumps(BRIEF)[:-1] + ', "metadata": {"a": ' + "[" * 850 + "]" * 850 + "}}"

    response = editor_client.post("/api/tasks", data=body, content_type="application/json")

    assert_api_400(response, mentions="nested too deeply")
    assert not GenerationTask.objects.exists()


def test_metadata_as_deep_as_the_api_takes_shows_on_the_admin_task_page(editor_client, superuser):
    from tasks.validators import JSON_MAX_DEPTH

    inner = JSON_MAX_DEPTH - 2  # the body and the metadata object are levels too
    body = json.dumps(BRIEF)[:-1] + ', "metadata": {"a": ' + "[" * inner + "]" * inner + "}}"

    response = editor_client.post("/api/tasks", data=body, content_type="application/json")

    assert response.status_code == 201, response.content
    page = client_for(superuser).get(f"/admin/tasks/generationtask/{response.json()['id']}/change/")
    assert page.status_code == 200


@pytest.mark.parametrize("raw", [
    '{"topic": "Why tests should fail first", "priority": 1, "priority": 99}',
    '{"topic": "Why tests should fail first", "metadata": {"research": {"urls": [], "urls": ["https://example.com/"]}}}',
], ids=["top-level", "nested"])
def test_a_key_given_twice_in_one_object_is_a_400_and_nothing_is_stored(raw, editor_client):
    """Python's parser keeps the last of two values and says nothing; a proxy, a log or the
    client's own code may have read the first. The body is ambiguous, so it is refused."""
    response = editor_client.post("/api/tasks", data=raw, content_type="application/json")

    assert_api_400(response, mentions="twice")
    assert not GenerationTask.objects.exists()


def test_a_key_given_twice_in_a_decision_is_a_400_and_decides_nothing(reviewer_client, editor):
    from tests.factories import submit_task

    task = submit_task(created_by=editor)
    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", data='{"approved": false, "approved": true}',
                                    content_type="application/json")

    assert_api_400(response, mentions="approved")
    task.refresh_from_db()
    assert task.approval_status == "pending"


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"note": "a\x00b"}, "NUL"),
        ({"a\x00b": "note"}, "NUL"),
        ({"deep": [{"x": ["\x00"]}]}, "NUL"),
        ({"note": "\ud800"}, "lone surrogate"),
        ({"\udfff": 1}, "lone surrogate"),
    ],
)
def test_nul_or_lone_surrogate_in_metadata_is_a_400_and_nothing_is_stored(metadata, problem, editor_client):
    body = json.dumps({**BRIEF, "metadata": metadata})  # ensure_ascii: \u0000 and \ud800 escapes

    response = editor_client.post("/api/tasks", data=body, content_type="application/json")

    error = assert_api_400(response, mentions=problem)
    assert list(error["fields"]) == ["metadata"]
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize("raw", ['{"x": 1e400}', '{"x": -1e400}', '{"research": {"urls": [1e400]}}'])
def test_a_number_too_large_for_json_in_metadata_is_a_400_and_nothing_is_stored(raw, editor_client):
    # `json` reads 1e400 as infinity, which jsonb cannot store (a 500 before).
    body = json.dumps(BRIEF)[:-1] + f', "metadata": {raw}}}'

    response = editor_client.post("/api/tasks", data=body, content_type="application/json")

    error = assert_api_400(response, mentions="not finite")
    assert list(error["fields"]) == ["metadata"]
    assert not GenerationTask.objects.exists()


def test_a_number_too_large_in_a_change_of_metadata_is_a_400_and_nothing_changes(editor_client):
    task_id = editor_client.post("/api/tasks", BRIEF, format="json").json()["id"]
    body = '{"metadata": {"x": 1e400}}'

    response = editor_client.patch(f"/api/tasks/{task_id}", data=body, content_type="application/json")

    assert_api_400(response, mentions="not finite")
    assert GenerationTask.objects.get(pk=task_id).metadata == {}


def test_nul_in_the_estimate_model_is_a_400(editor_client):
    body = json.dumps({**BRIEF, "model": "offline\x00"})

    response = editor_client.post("/api/tasks/estimate", data=body, content_type="application/json")

    assert list(assert_api_400(response, mentions="NUL")["fields"]) == ["model"]


@pytest.mark.parametrize("query", ["status=%00", "topic%00=x", "model=%00", "ordering=%00"])
def test_nul_in_an_api_query_parameter_is_a_400_in_the_error_shape(query, editor_client):
    response = editor_client.get(f"/api/tasks?{query}")

    assert_api_400(response, mentions="NUL")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/admin/tasks/generationtask/?status__exact=%00", b"Query parameters must not contain NUL characters."),
        ("/admin/autocomplete/?app_label=tasks&model_name=generationtask&field_name=model&term=%00",
         b"Query parameters must not contain NUL characters."),
        # a text primary key: the NUL reached PostgreSQL (a 500)
        ("/admin/django_q/success/%00/change/", b"The path must not contain NUL characters."),
        ("/admin/django_q/failure/%00/delete/", b"The path must not contain NUL characters."),
        ("/admin/tasks/generationtask/%00/change/", b"The path must not contain NUL characters."),
        ("/admin/r/1/%00/", b"The path must not contain NUL characters."),
    ],
)
def test_nul_in_an_admin_query_parameter_or_path_is_a_400(url, message, superuser):
    response = client_for(superuser).get(url)

    assert response.status_code == 400
    assert response.content == message


def test_nul_in_an_editorial_api_path_is_a_400_in_the_error_shape(editor_client):
    assert_api_400(editor_client.get("/api/tasks/%00/events"), mentions="The path must not contain NUL")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("priority_min=1013994000000", "priority_min"),
        ("priority_max=-99999999999", "priority_max"),
        ("priority=2147483648", "priority"),
        ("created_after=9837-11-11T15:49:15%2B20:58", "created_after"),
        ("created_before=9999-12-31T23:00:00-05:00", "created_before"),
    ],
)
def test_out_of_range_api_filter_values_are_a_400_naming_the_filter(query, field, editor_client):
    response = editor_client.get(f"/api/tasks?{query}")

    error = assert_api_400(response)
    assert field in error["fields"], error


def test_an_in_range_far_future_created_after_still_filters(editor_client):
    response = editor_client.get("/api/tasks?created_after=9837-11-11T15:49:15%2B02:00")

    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_out_of_range_admin_date_hierarchy_year_is_ignored_not_a_500(superuser):
    response = client_for(superuser).get("/admin/tasks/generationtask/?created_at__year=99999999999999")

    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
