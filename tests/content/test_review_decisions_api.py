"""The review API's decisions: approve or reject, and revoke an approval.

Each verb's happy path and its refusals: who may (403), in which state (409), what input (400),
all in the usual error body.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from content.models import ApprovalEvent
from content.services.versions import version_create
from publishing.roles import REVIEWERS
from tests.api_errors import error_of
from tests.content.review_api import REJECTION, completed_task
from tests.factories import make_task, make_user

pytestmark = pytest.mark.django_db


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


def test_a_reviewer_who_rewrote_the_draft_may_not_approve_or_reject_it_another_reviewer_may(
        reviewer_client, reviewer, editor):
    task = completed_task(created_by=editor)
    rewrite = reviewer_client.patch(f"/api/tasks/{task.pk}/draft", {"body": "Compost is what I say it is."},
                                    format="json")
    assert rewrite.status_code == 201, rewrite.content

    approve = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}), 403,
                       "permission_denied")
    reject = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/approve", REJECTION), 403, "permission_denied")

    assert approve["message"] == ("The four-eyes rule: you wrote a version of this piece, so another reviewer "
                                  "must approve it.")
    assert "you wrote a version of this piece, so another reviewer must reject it" in reject["message"]
    assert reviewer_client.post(f"/api/tasks/{task.pk}/publish").status_code != 200
    task.refresh_from_db()
    assert task.approval_status == "pending"
    assert not ApprovalEvent.objects.filter(task=task, decision__in=["approved", "rejected"]).exists()
    second = make_user("reviewer2")
    second.groups.add(Group.objects.get(name=REVIEWERS))
    client = APIClient()
    client.force_authenticate(second)
    assert client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}).status_code == 200


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
    listed = reviewer_client.get(f"/api/tasks/{task.pk}/versions").json()["results"]
    assert (listed[-1]["is_outline"], listed[-1]["model"]) == (True, "offline")
