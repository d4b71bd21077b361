"""The review API as a whole: a task the user may not see is a 404 on every endpoint, every
endpoint needs authentication, and every one is in the OpenAPI schema.
"""

from __future__ import annotations

import pytest

from content.models import ContentVersion
from tests.api_errors import error_of
from tests.content.review_api import completed_task

pytestmark = pytest.mark.django_db


# --- visibility and authentication ---------------------------------------------------------------
ENDPOINTS = [
    ("post", "approve", {"approved": True}),
    ("post", "revoke-approval", {}),
    ("patch", "draft", {"title": "New"}),
    ("post", "versions/2/restore", {}),
    ("get", "approvals", None),
    ("get", "versions/1/diff/2", None),
]


@pytest.mark.parametrize("method, suffix, data", ENDPOINTS)
def test_another_editors_task_is_a_404_for_every_review_endpoint(other_editor_client, editor, method, suffix, data):
    task = completed_task(created_by=editor)

    response = getattr(other_editor_client, method)(f"/api/tasks/{task.pk}/{suffix}", data, format="json")

    error_of(response, 404, "not_found")
    assert ContentVersion.objects.filter(task=task).count() == 2


@pytest.mark.parametrize("method, suffix, data", ENDPOINTS)
def test_review_endpoints_require_authentication(api_client, editor, method, suffix, data):
    task = completed_task(created_by=editor)

    response = getattr(api_client, method)(f"/api/tasks/{task.pk}/{suffix}", data, format="json")

    error_of(response, 401, "not_authenticated")


def test_malformed_task_id_is_a_404(reviewer_client):
    error_of(reviewer_client.post("/api/tasks/not-a-uuid/approve", {"approved": True}), 404)


# --- the schema -----------------------------------------------------------------------------------
def test_every_editorial_endpoint_is_in_the_openapi_schema(editor_client):
    response = editor_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    paths = response.json()["paths"]
    expected = {
        "/api/tasks/{task_id}/approve/": "post",
        "/api/tasks/{task_id}/revoke-approval/": "post",
        "/api/tasks/{task_id}/publish/": "post",
        "/api/tasks/{task_id}/unpublish/": "post",
        "/api/tasks/{task_id}/versions/{number}/restore/": "post",
        "/api/tasks/{task_id}/draft/": "patch",
        "/api/tasks/{task_id}/approvals/": "get",
        "/api/tasks/{task_id}/versions/{a}/diff/{b}/": "get",
    }
    for path, method in expected.items():
        assert method in paths.get(path, {}), path
        operation = paths[path][method]
        assert operation["summary"] and operation["tags"]
    task_schema = response.json()["components"]["schemas"]["TaskOutput"]["properties"]
    assert "approval_status" in task_schema and "post" in task_schema
