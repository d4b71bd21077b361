"""The task API's verbs on an existing task: changing the brief, cancel, retry, delete, and its events."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tasks.api.serializers import TaskUpdateInput
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tasks.services.lifecycle import EDITABLE_WHILE_QUEUED
from tests.factories import submit_task
from tests.tasks.task_api import SLASHES, assert_field_error, set_status

pytestmark = pytest.mark.django_db


def test_update_serializer_accepts_exactly_the_fields_the_service_allows():
    # research_notes and source_urls are written into `metadata` (an editable field) by the serializer.
    assert set(TaskUpdateInput().fields) - {"research_notes", "source_urls"} == EDITABLE_WHILE_QUEUED


def test_research_notes_and_urls_travel_in_metadata(editor_client):
    response = editor_client.post("/api/tasks", {
        "topic": "Heat pumps", "research_notes": "Notes pasted by the editor.",
        "source_urls": ["https://example.com/heat-pumps"], "metadata": {"campaign": "winter"},
    }, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["metadata"] == {
        "campaign": "winter",
        "research": {"text": "Notes pasted by the editor.", "urls": ["https://example.com/heat-pumps"]},
    }


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1/admin", "Refusing to fetch 127.0.0.1"),
    ("http://localhost:8000/", "Refusing to fetch localhost"),
    ("http://10.0.0.5/", "Refusing to fetch 10.0.0.5"),
    ("http://169.254.169.254/latest/meta-data", "Refusing to fetch 169.254.169.254"),
    ("http://[::1]/", "Refusing to fetch ::1"),
    ("file:///etc/passwd", "Only http and https URLs can be fetched"),
    ("ftp://example.com/x", "Only http and https URLs can be fetched"),
    ("javascript:alert(1)", "Only http and https URLs can be fetched"),
    ("https://user:pw@example.com/", "user name or password"),
])
def test_source_urls_to_private_hosts_or_other_schemes_are_refused(editor_client, url, message):
    for body in ({"topic": "Heat pumps", "source_urls": [url]},
                 {"topic": "Heat pumps", "metadata": {"research": {"urls": [url]}}}):
        response = editor_client.post("/api/tasks", body, format="json")
        assert response.status_code == 400
        assert message in str(response.json()["error"]["fields"])


@SLASHES
def test_patch_of_a_queued_task_changes_its_priority(slash, editor_client, editor):
    task = submit_task(created_by=editor)

    response = editor_client.patch(f"/api/tasks/{task.pk}{slash}", {"priority": 42}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["priority"] == 42
    task.refresh_from_db()
    assert task.priority == 42
    assert task.events.filter(kind="log").exists()


def test_patch_changes_only_the_fields_sent(editor_client, editor):
    task = submit_task(created_by=editor, word_count=3000, style="technical")

    response = editor_client.patch(f"/api/tasks/{task.pk}", {"topic": "  A new topic "}, format="json")

    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert (task.topic, task.word_count, task.style) == ("A new topic", 3000, "technical")


def _queued_task_with_research(editor_client) -> str:
    response = editor_client.post("/api/tasks", {
        "topic": "Heat pumps", "research_notes": "Notes pasted by the editor.",
        "source_urls": ["https://example.com/heat-pumps"], "metadata": {"campaign": "winter"},
    }, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_patch_of_the_research_notes_alone_keeps_the_urls_and_the_rest_of_the_metadata(editor_client):
    task_id = _queued_task_with_research(editor_client)

    response = editor_client.patch(f"/api/tasks/{task_id}", {"research_notes": "Better notes."}, format="json")

    assert response.status_code == 200, response.content
    assert GenerationTask.objects.get(pk=task_id).metadata == {
        "campaign": "winter", "research": {"text": "Better notes.", "urls": ["https://example.com/heat-pumps"]},
    }


def test_patch_of_the_source_urls_alone_keeps_the_notes_and_the_rest_of_the_metadata(editor_client):
    task_id = _queued_task_with_research(editor_client)

    response = editor_client.patch(f"/api/tasks/{task_id}", {"source_urls": ["https://example.org/a"]}, format="json")

    assert response.status_code == 200, response.content
    assert GenerationTask.objects.get(pk=task_id).metadata == {
        "campaign": "winter", "research": {"text": "Notes pasted by the editor.", "urls": ["https://example.org/a"]},
    }


def test_patch_of_the_metadata_with_research_notes_replaces_the_metadata(editor_client):
    task_id = _queued_task_with_research(editor_client)

    response = editor_client.patch(f"/api/tasks/{task_id}", {"metadata": {"campaign": "spring"},
                                                               "research_notes": "New notes."}, format="json")

    assert response.status_code == 200, response.content
    assert GenerationTask.objects.get(pk=task_id).metadata == {"campaign": "spring", "research": {"text": "New notes."}}


@pytest.mark.parametrize(
    "field, value",
    [("status", "completed"), ("task_type", "image_generation"), ("priority", 1.5), ("word_count", 99),
     ("topic", "ab"), ("model", "no-such-model")],
)
def test_patch_with_a_non_editable_or_invalid_field_is_a_field_level_400(editor_client, editor, field, value):
    task = submit_task(created_by=editor)

    response = editor_client.patch(f"/api/tasks/{task.pk}", {field: value}, format="json")

    assert_field_error(response, field)
    task.refresh_from_db()
    assert task.status == "queued" and task.task_type == "blog_post" and task.priority == 0


def test_patch_of_a_running_task_is_a_409(editor_client, editor):
    task = submit_task(created_by=editor)
    set_status(task, status="running", worker="w")

    response = editor_client.patch(f"/api/tasks/{task.pk}", {"priority": 42}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    task.refresh_from_db()
    assert task.priority == 0


# --- Cancel, retry, delete ----------------------------------------------------------------


@SLASHES
def test_cancel_of_a_queued_task_cancels_it(slash, editor_client, editor):
    task = submit_task(created_by=editor)

    response = editor_client.post(f"/api/tasks/{task.pk}/cancel{slash}")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    task.refresh_from_db()
    assert task.status == "cancelled" and task.finished_at is not None


def test_cancel_of_a_running_task_requests_a_stop(editor_client, editor):
    task = submit_task(created_by=editor)
    set_status(task, status="running", worker="w")

    response = editor_client.post(f"/api/tasks/{task.pk}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "running"
    assert response.json()["cancel_requested_at"] is not None


def test_cancel_of_a_completed_task_is_a_409_with_the_reason(editor_client, editor):
    task = submit_task(created_by=editor)
    set_status(task, status="completed", finished_at=timezone.now())

    response = editor_client.post(f"/api/tasks/{task.pk}/cancel")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert "already completed" in response.json()["error"]["message"]


@SLASHES
def test_retry_of_a_failed_task_queues_it_again(slash, editor_client, editor):
    task = submit_task(created_by=editor)
    set_status(task, status="failed", finished_at=timezone.now(), error="boom")

    response = editor_client.post(f"/api/tasks/{task.pk}/retry{slash}")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued"
    assert response.json()["error"] == ""
    task.refresh_from_db()
    assert task.status == "queued" and task.finished_at is None


def test_retry_on_a_model_disabled_since_is_a_400_on_model_as_creating_with_it_is(editor_client, editor):
    house = ModelCatalogEntry.objects.create(key="house-llm", display_name="House LLM",
                                             provider="openai_compatible", base_url="https://llm.example.com/v1")
    task = submit_task(created_by=editor, model=house)
    set_status(task, status="failed", finished_at=timezone.now(), error="boom")
    ModelCatalogEntry.objects.filter(pk=house.pk).update(enabled=False)

    response = editor_client.post(f"/api/tasks/{task.pk}/retry")

    assert_field_error(response, "model")
    assert response.json()["error"]["message"] == (
        "House LLM cannot run here: disabled in the catalog. Choose another model.")
    task.refresh_from_db()
    assert task.status == "failed"
    assert_field_error(editor_client.post("/api/tasks", {"topic": "Heat pumps", "model": "house-llm"},
                                          format="json"), "model")


def test_retry_of_a_queued_task_is_a_409(editor_client, editor):
    task = submit_task(created_by=editor)

    response = editor_client.post(f"/api/tasks/{task.pk}/retry")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


@SLASHES
def test_delete_of_a_queued_task_removes_it(slash, reviewer_client, editor):
    task = submit_task(created_by=editor)

    response = reviewer_client.delete(f"/api/tasks/{task.pk}{slash}")

    assert response.status_code == 204
    assert not GenerationTask.objects.filter(pk=task.pk).exists()
    assert reviewer_client.get(f"/api/tasks/{task.pk}").status_code == 404


def test_delete_of_a_running_task_is_a_409(reviewer_client, editor):
    task = submit_task(created_by=editor)
    set_status(task, status="running", worker="w")

    response = reviewer_client.delete(f"/api/tasks/{task.pk}")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert GenerationTask.objects.filter(pk=task.pk).exists()


def test_editor_without_delete_permission_cannot_delete_own_task(editor_client, editor):
    task = submit_task(created_by=editor)

    response = editor_client.delete(f"/api/tasks/{task.pk}")

    assert response.status_code == 403
    assert GenerationTask.objects.filter(pk=task.pk).exists()


# --- Events -------------------------------------------------------------------------------


def test_events_after_n_returns_only_later_events_in_order(editor_client, editor):
    task = submit_task(created_by=editor)  # event 1: created
    for priority in (1, 2, 3):  # events 2-4: brief changed
        editor_client.patch(f"/api/tasks/{task.pk}", {"priority": priority}, format="json")

    response = editor_client.get(f"/api/tasks/{task.pk}/events?after=2")

    assert response.status_code == 200
    events = response.json()
    assert [event["sequence"] for event in events] == [3, 4]
    assert set(events[0]) == {"sequence", "kind", "status", "phase", "progress", "message", "data", "created_at"}
    assert events[0]["kind"] == "log"


@SLASHES
def test_events_default_to_all_and_respect_the_limit(slash, editor_client, editor):
    task = submit_task(created_by=editor)
    editor_client.post(f"/api/tasks/{task.pk}/cancel")

    everything = editor_client.get(f"/api/tasks/{task.pk}/events{slash}").json()
    first = editor_client.get(f"/api/tasks/{task.pk}/events{slash}?limit=1").json()

    assert [event["sequence"] for event in everything] == [1, 2]
    assert [event["kind"] for event in everything] == ["created", "status"]
    assert [event["sequence"] for event in first] == [1]
    assert TaskEvent.objects.filter(task=task).count() == 2


@pytest.mark.parametrize("query", ["after=-1", "after=x", "limit=0", "limit=501"])
def test_invalid_events_query_is_a_field_level_400(editor_client, editor, query):
    task = submit_task(created_by=editor)

    response = editor_client.get(f"/api/tasks/{task.pk}/events?{query}")

    assert_field_error(response, query.split("=")[0])
