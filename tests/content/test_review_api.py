"""The review API: approve or reject, revoke, edit the draft, restore, the audit trail, diffs.

Each verb's happy path and its refusals: who may (403), in which state (409), what input (400),
and a task the user may not see (404), all in the usual error body.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from content.models import ApprovalEvent, ContentVersion
from content.services.versions import version_create
from tasks.models import GenerationTask
from tests.api_errors import error_of
from tests.factories import make_task

pytestmark = pytest.mark.django_db

BODY = "# Composting at home\n\nComposting turns kitchen scraps into soil.\n\nGreens and browns, in equal parts."


def completed_task(*, created_by, body: str = BODY, **fields) -> GenerationTask:
    """A blog post whose pipeline finished: a draft (version 1) and its formatted version (2)."""
    task = make_task(created_by=created_by, **fields)
    version_create(task=task, phase="draft", title="Composting at home", body=body)
    version_create(task=task, phase="format", title="Composting at home", body=body,
                   body_html="<p>Composting turns kitchen scraps into soil.</p>", excerpt="Compost.")
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", finished_at=timezone.now(), progress=100)
    task.refresh_from_db()
    return task


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


REJECTION = {"approved": False, "feedback": "The second section repeats the first.", "reasons": ["structure"]}


# --- approve / reject ----------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_approve_answers_200_with_the_approved_task(slash, reviewer_client, editor):
    task = completed_task(created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve{slash}", {"approved": True, "feedback": "Good."})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(task.pk)
    assert body["approval_status"] == "approved"
    assert body["post"] is None
    event = ApprovalEvent.objects.get(task=task)
    assert (event.decision, event.feedback, event.version.number) == ("approved", "Good.", 2)


def test_reject_with_feedback_and_reasons_answers_the_rejected_task(reviewer_client, editor):
    task = completed_task(created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", {**REJECTION, "reasons": ["structure", "tone"]})

    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "rejected"
    assert response.json()["status"] == "completed"
    event = ApprovalEvent.objects.get(task=task)
    assert event.decision == "rejected"
    assert event.reasons == ["structure", "tone"]
    assert event.revision_requested is False


def test_reject_with_a_revision_request_queues_the_task_again_pending_review(reviewer_client, editor):
    task = completed_task(created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve",
                                    {**REJECTION, "reasons": ["length"], "revise": True, "target_words": 600})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued"
    assert response.json()["approval_status"] == "pending"
    event = ApprovalEvent.objects.get(task=task)
    assert (event.revision_requested, event.target_words) == (True, 600)


def test_editor_approving_is_refused_with_403(editor_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(editor_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}), 403,
                     "permission_denied")

    assert "reviewer" in error["message"].lower()
    assert not ApprovalEvent.objects.filter(task=task).exists()


def test_editor_rejecting_is_refused_with_403(editor_client, editor):
    task = completed_task(created_by=editor)

    error_of(editor_client.post(f"/api/tasks/{task.pk}/approve", REJECTION), 403, "permission_denied")


def test_approving_your_own_task_is_refused_under_the_four_eyes_rule(reviewer_client, reviewer):
    task = completed_task(created_by=reviewer)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}), 403,
                     "permission_denied")

    assert "four-eyes" in error["message"]
    task.refresh_from_db()
    assert task.approval_status == "pending"


def test_approving_your_own_task_is_allowed_when_the_four_eyes_rule_is_off(reviewer_client, reviewer, settings):
    settings.PRESSROOM_FOUR_EYES = False
    task = completed_task(created_by=reviewer)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "approved"


def test_reject_without_feedback_is_refused_with_400(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {**REJECTION, "feedback": "  "}), 400)

    assert "feedback" in error["fields"]
    task.refresh_from_db()
    assert task.approval_status == "pending"


def test_reject_without_a_reason_is_refused_with_400(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {**REJECTION, "reasons": []}), 400)

    assert "reasons" in error["fields"]


def test_unknown_reason_is_refused_with_400(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve",
                                          {**REJECTION, "reasons": ["tone", "boring"]}), 400, "invalid")

    assert "reasons" in error["fields"]
    assert not ApprovalEvent.objects.filter(task=task).exists()


def test_approving_a_running_task_is_a_409_with_the_reason(reviewer_client, editor):
    task = make_task(created_by=editor, status="running", started_at=timezone.now())

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}), 409,
                     "invalid_transition")

    assert "running" in error["message"]


def test_approving_twice_is_a_409(reviewer_client, editor):
    task = completed_task(created_by=editor)
    assert reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}).status_code == 200

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}), 409,
                     "invalid_transition")

    assert "already approved" in error["message"]
    assert ApprovalEvent.objects.filter(task=task).count() == 1


def test_rejecting_an_approved_task_is_a_409(reviewer_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", REJECTION), 409, "invalid_transition")


@pytest.mark.parametrize("body, field", [
    ({"approved": "true"}, "approved"),
    ({"approved": 1}, "approved"),
    ({"approved": None}, "approved"),
    ({}, "approved"),
    ({"approved": True, "feedback": 5}, "feedback"),
    ({"approved": True, "feedback": "x" * 5001}, "feedback"),
    ({"approved": True, "feedback": "fine\x00"}, "feedback"),
    ({"approved": True, "reasons": ["tone"]}, "reasons"),
    ({"approved": True, "revise": True}, "revise"),
    ({"approved": True, "approval": True}, "approval"),
    ({**REJECTION, "reasons": "tone"}, "reasons"),
    ({**REJECTION, "reasons": [["tone"]]}, "reasons"),
    ({**REJECTION, "revise": "yes"}, "revise"),
    ({**REJECTION, "revise": True, "target_words": "600"}, "target_words"),
    ({**REJECTION, "revise": True, "target_words": 10**9}, "target_words"),
    ({**REJECTION, "revise": True, "target_words": 600.5}, "target_words"),
])
def test_malformed_decision_is_a_field_level_400(reviewer_client, editor, body, field):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", body, format="json"), 400, "invalid")

    assert field in error["fields"]
    task.refresh_from_db()
    assert task.approval_status == "pending"


def test_target_words_without_a_revision_request_is_a_400(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {**REJECTION, "target_words": 600}), 400)

    assert "target_words" in error["fields"]


def test_nul_character_in_feedback_is_a_400_not_a_500(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve",
                                          {**REJECTION, "feedback": "bad\u0000text"}), 400)

    assert "feedback" in error["fields"]


@pytest.mark.parametrize("path", ["approve", "revoke-approval", "draft", "versions/2/restore"])
def test_deeply_nested_json_body_is_a_400_not_a_500(reviewer_client, editor, path):
    task = completed_task(created_by=editor)
    reviewer_client.raise_request_exception = False
    nested = "[" * 100_000 + "]" * 100_000
    method = reviewer_client.patch if path == "draft" else reviewer_client.post

    response = method(f"/api/tasks/{task.pk}/{path}", data=nested, content_type="application/json")

    error_of(response, 400, "parse_error")


def test_deeply_nested_estimate_body_is_a_400_not_a_500(editor_client):
    editor_client.raise_request_exception = False

    response = editor_client.post("/api/tasks/estimate", data="[" * 100_000 + "]" * 100_000,
                                  content_type="application/json")

    error_of(response, 400, "parse_error")


@pytest.mark.parametrize("body", ["[]", '"approved"', "null", "{not json"])
def test_a_body_that_is_not_a_json_object_is_a_400(reviewer_client, editor, body):
    task = completed_task(created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", data=body, content_type="application/json")

    error_of(response, 400)


def test_form_encoded_decision_is_refused_with_415(reviewer_client, editor):
    task = completed_task(created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": "true"}, format="multipart")

    error_of(response, 415, "unsupported_media_type")


# --- revoke ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_revoking_an_approval_returns_the_task_to_pending(slash, reviewer_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    response = reviewer_client.post(f"/api/tasks/{task.pk}/revoke-approval{slash}", {"feedback": "Facts changed."})

    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "pending"
    assert ApprovalEvent.objects.filter(task=task, decision="approval_revoked", feedback="Facts changed.").exists()


def test_revoking_without_a_body_is_allowed(reviewer_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    response = reviewer_client.post(f"/api/tasks/{task.pk}/revoke-approval")

    assert response.status_code == 200, response.content


def test_revoking_a_pending_task_is_a_409(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error_of(reviewer_client.post(f"/api/tasks/{task.pk}/revoke-approval"), 409, "invalid_transition")


def test_editor_revoking_an_approval_is_a_403(editor_client, reviewer_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    error_of(editor_client.post(f"/api/tasks/{task.pk}/revoke-approval"), 403, "permission_denied")


def test_revoke_with_an_unknown_field_is_a_400(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/revoke-approval", {"reason": "x"}), 400, "invalid")

    assert error["fields"] == {"reason": ["Unknown field."]}


# --- edit the draft ---------------------------------------------------------------------------------
NEW_BODY = "# Composting at home\n\nComposting turns kitchen scraps into rich soil in a few months.\n\nKeep it moist."


@pytest.mark.parametrize("slash", ["", "/"])
def test_editing_the_draft_answers_201_with_the_new_version(slash, editor_client, reviewer_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    response = editor_client.patch(f"/api/tasks/{task.pk}/draft{slash}",
                                   {"body": NEW_BODY, "title": "Composting, simply", "base_version": 2})

    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["number"], version["phase"], version["title"]) == (3, "edit", "Composting, simply")
    assert "rich soil" in version["body"]
    assert version["created_by"] == "editor1"
    task.refresh_from_db()
    assert task.approval_status == "pending"


def test_editing_from_a_stale_base_version_is_a_409(editor_client, editor):
    task = completed_task(created_by=editor)
    assert editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "First edit"}).status_code == 201

    error = error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "Second edit", "base_version": 2}),
                     409, "invalid_transition")

    assert "version 3" in error["message"]
    assert ContentVersion.objects.filter(task=task).count() == 3


def test_editing_a_running_task_is_a_409(editor_client, editor):
    task = make_task(created_by=editor, status="running", started_at=timezone.now())

    error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "New"}), 409, "invalid_transition")


@pytest.mark.parametrize("body, field", [
    ({}, "non_field_errors"),
    ({"base_version": 2}, "non_field_errors"),
    ({"title": 5}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"body": "text\x00"}, "body"),
    ({"excerpt": ["a"]}, "excerpt"),
    ({"title": "New", "base_version": "2"}, "base_version"),
    ({"title": "New", "status": "approved"}, "status"),
])
def test_malformed_draft_edit_is_a_field_level_400(editor_client, editor, body, field):
    task = completed_task(created_by=editor)

    error = error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", body, format="json"), 400, "invalid")

    assert field in error["fields"]
    assert ContentVersion.objects.filter(task=task).count() == 2


def test_an_edit_that_changes_nothing_is_a_400(editor_client, editor):
    task = completed_task(created_by=editor)

    error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "Composting at home"}), 400)


# --- restore --------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_restoring_a_version_answers_201_with_a_copy_as_the_new_version(slash, editor_client, editor):
    task = completed_task(created_by=editor)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})

    response = editor_client.post(f"/api/tasks/{task.pk}/versions/2/restore{slash}")

    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["number"], version["phase"]) == (4, "restore")
    assert version["body"] == BODY


@pytest.mark.parametrize("number", [9, 10**20])
def test_restoring_a_missing_version_is_a_400(editor_client, editor, number):
    task = completed_task(created_by=editor)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})

    error = error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/{number}/restore"), 400)

    assert "number" in error["fields"]


def test_restoring_the_current_version_is_a_409(editor_client, editor):
    task = completed_task(created_by=editor)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})

    error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/3/restore"), 409, "invalid_transition")


def test_restoring_a_draft_step_is_a_409(editor_client, editor):
    task = completed_task(created_by=editor)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})

    error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/1/restore"), 409, "invalid_transition")


def test_restore_with_a_body_field_is_a_400(editor_client, editor):
    task = completed_task(created_by=editor)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})

    error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/2/restore", {"number": 2}), 400, "invalid")


# --- the audit trail -----------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_audit_trail_lists_decisions_oldest_first(slash, reviewer_client, editor_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", REJECTION)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True, "feedback": "Better."})

    response = editor_client.get(f"/api/tasks/{task.pk}/approvals{slash}")

    assert response.status_code == 200, response.content
    trail = response.json()
    assert [(row["decision"], row["actor"], row["version"]) for row in trail] == [
        ("rejected", "reviewer1", 2), ("edited", "editor1", 3), ("approved", "reviewer1", 3),
    ]
    assert trail[0] | {"created_at": None} == {
        "decision": "rejected", "actor": "reviewer1", "feedback": REJECTION["feedback"], "reasons": ["structure"],
        "version": 2, "revision_requested": False, "target_words": None, "created_at": None,
    }


def test_audit_trail_of_an_undecided_task_is_empty(editor_client, editor):
    task = completed_task(created_by=editor)

    assert editor_client.get(f"/api/tasks/{task.pk}/approvals").json() == []


# --- diff -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_diff_of_two_versions_has_side_by_side_rows_and_a_unified_text(slash, editor_client, editor):
    task = completed_task(created_by=editor)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})

    response = editor_client.get(f"/api/tasks/{task.pk}/versions/2/diff/3{slash}")

    assert response.status_code == 200, response.content
    diff = response.json()
    assert (diff["from"], diff["to"]) == (2, 3)
    assert {"kind": "equal", "left": "# Composting at home", "right": "# Composting at home"} in diff["rows"]
    changed = [row for row in diff["rows"] if row["kind"] != "equal"]
    assert any("rich soil" in row["right"] for row in changed)
    assert diff["unified"].startswith("--- version 2\n+++ version 3\n")
    assert "\n-Composting turns kitchen scraps into soil." in diff["unified"]
    assert "+Composting turns kitchen scraps into rich soil" in diff["unified"]


def test_diff_of_a_version_with_itself_is_all_equal(editor_client, editor):
    task = completed_task(created_by=editor)

    diff = editor_client.get(f"/api/tasks/{task.pk}/versions/2/diff/2").json()

    assert diff["rows"] and {row["kind"] for row in diff["rows"]} == {"equal"}
    assert diff["unified"] == ""


@pytest.mark.parametrize("a, b", [(2, 9), (9, 2), (2, 10**20)])
def test_diff_with_a_missing_version_is_a_404(editor_client, editor, a, b):
    task = completed_task(created_by=editor)

    error_of(editor_client.get(f"/api/tasks/{task.pk}/versions/{a}/diff/{b}"), 404, "not_found")


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
def test_another_editors_task_is_a_404_for_every_review_endpoint(other_editor, editor, method, suffix, data):
    task = completed_task(created_by=editor)

    response = getattr(client_for(other_editor), method)(f"/api/tasks/{task.pk}/{suffix}", data, format="json")

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


def test_approving_a_version_other_than_the_current_one_is_a_409(editor, reviewer_client):
    task = completed_task(created_by=editor)
    current = task.versions.order_by("-number").first().number
    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True, "version": current - 1})
    error_of(response, 409, "invalid_transition")
    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True, "version": current})
    assert response.status_code == 200 and response.json()["approval_status"] == "approved"


def test_approving_an_outline_is_a_409_that_says_to_write_the_text(reviewer_client, editor):
    task = completed_task(created_by=editor)
    version_create(task=task, phase="format", title="Composting at home", model_key="offline", is_outline=True,
                   body="# Composting at home\n\n> **Outline — not an article.**\n\n## Basics\n\n- What is it?\n")

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}), 409,
                     "invalid_transition")

    assert error["message"] == ("This version is an outline: write the text (edit it) or run it with a model "
                                "before approving.")
    assert not ApprovalEvent.objects.filter(task=task).exists()
    listed = reviewer_client.get(f"/api/tasks/{task.pk}/versions").json()
    assert (listed[-1]["is_outline"], listed[-1]["model"]) == (True, "offline")
