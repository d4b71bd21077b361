"""The task API: brief validation, idempotency, throttling, listing, visibility and lifecycle verbs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tasks.api.serializers import TaskUpdateInput
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tasks.services.lifecycle import EDITABLE_WHILE_QUEUED
from tests.factories import submit_task

pytestmark = pytest.mark.django_db

BRIEF = {"task_type": "blog_post", "topic": "Why tests should fail first"}
SLASHES = pytest.mark.parametrize("slash", ["", "/"])


@pytest.fixture
def other_editor_client(other_editor):
    client = APIClient()
    client.force_authenticate(other_editor)
    return client


@pytest.fixture
def create_rate():
    """Set the creation rate; DRF reads THROTTLE_RATES once, at class definition, so patch the class."""
    original = ScopedRateThrottle.THROTTLE_RATES

    def set_rate(rate: str) -> None:
        ScopedRateThrottle.THROTTLE_RATES = {**original, "task_create": rate}

    yield set_rate
    ScopedRateThrottle.THROTTLE_RATES = original


def set_status(task, **fields) -> None:
    GenerationTask.objects.filter(pk=task.pk).update(**fields)


def assert_field_error(response, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error


# --- Creation -----------------------------------------------------------------------------


@SLASHES
def test_create_returns_201_with_location_queued_status_and_default_model(slash, editor_client, editor):
    response = editor_client.post(f"/api/tasks{slash}", BRIEF, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    task = GenerationTask.objects.get()
    assert body["id"] == str(task.pk)
    assert body["status"] == "queued"
    assert body["model"] == "offline"
    assert body["created_by"] == "editor1"
    assert body["word_count"] == 1000 and body["word_count_tolerance"] == 10
    assert body["last_event_sequence"] == 1
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/tasks/{task.pk}")
    assert "Idempotent-Replayed" not in response
    assert task.created_by == editor


def test_create_stores_the_whole_brief(editor_client):
    brief = {
        **BRIEF, "task_type": "image_generation", "title": "  A title  ", "topic": "  padded topic  ",
        "word_count": 2500, "word_count_tolerance": 20, "strict_mode": True, "style": "technical",
        "tone": "casual", "target_audience": "testers", "primary_keyword": "tdd", "category": "craft",
        "tags": ["testing", "django"], "model": "gpt-4o-mini", "priority": -5, "timeout_seconds": 60,
        "metadata": {"source": "api"},
    }
    response = editor_client.post("/api/tasks", brief, format="json")

    assert response.status_code == 201, response.content
    task = GenerationTask.objects.get()
    assert (task.task_type, task.topic, task.title) == ("image_generation", "padded topic", "A title")
    assert (task.word_count, task.word_count_tolerance, task.strict_mode) == (2500, 20, True)
    assert (task.style, task.tone, task.model.key, task.priority) == ("technical", "casual", "gpt-4o-mini", -5)
    assert (task.tags, task.timeout_seconds, task.metadata) == (["testing", "django"], 60, {"source": "api"})


@pytest.mark.parametrize(
    "field, value",
    [
        ("task_type", "podcast"),
        ("word_count", 99),
        ("word_count", 10_001),
        ("word_count_tolerance", 4),
        ("word_count_tolerance", 21),
        ("topic", "ab"),
        ("topic", "   ab   "),
        ("topic", "x" * 301),
        ("title", "x" * 201),
        ("style", "poetic"),
        ("tone", "sarcastic"),
        ("tags", ["x" * 51]),
        ("tags", [f"tag{n}" for n in range(21)]),
        ("model", "no-such-model"),
        ("priority", "high"),
        ("priority", 1.5),
        ("priority", "5"),
        ("priority", True),
        ("priority", 101),
        ("priority", -101),
        ("timeout_seconds", 0),
        ("metadata", ["not", "an", "object"]),
        ("status", "completed"),
    ],
)
def test_invalid_brief_is_a_field_level_400(editor_client, field, value):
    response = editor_client.post("/api/tasks", {**BRIEF, field: value}, format="json")

    assert_field_error(response, field)
    assert not GenerationTask.objects.exists()


def test_missing_topic_is_a_field_level_400(editor_client):
    response = editor_client.post("/api/tasks", {"task_type": "blog_post"}, format="json")

    assert_field_error(response, "topic")
    assert response.json()["error"]["fields"]["topic"] == ["This field is required."]


def test_timeout_is_limited_by_the_configured_maximum(editor_client, settings):
    settings.PRESSROOM_TASK_TIMEOUT_MAX = 120

    too_long = editor_client.post("/api/tasks", {**BRIEF, "timeout_seconds": 121}, format="json")
    longest = editor_client.post("/api/tasks", {**BRIEF, "timeout_seconds": 120}, format="json")

    assert_field_error(too_long, "timeout_seconds")
    assert longest.status_code == 201
    assert longest.json()["timeout_seconds"] == 120


def test_disabled_model_is_refused_like_an_unknown_one(editor_client):
    ModelCatalogEntry.objects.filter(key="gpt-4o").update(enabled=False)

    response = editor_client.post("/api/tasks", {**BRIEF, "model": "gpt-4o"}, format="json")

    assert_field_error(response, "model")
    assert response.json()["error"]["fields"]["model"] == ["Unknown or disabled model 'gpt-4o'."]


def test_form_encoded_briefs_are_refused(editor_client):
    response = editor_client.post("/api/tasks", BRIEF, format="multipart")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_editor_without_add_permission_cannot_create(editor_client, editor):
    editor.groups.clear()

    response = editor_client.post("/api/tasks", BRIEF, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


# --- Idempotency --------------------------------------------------------------------------


def test_repeated_idempotency_key_replays_the_first_task(editor_client):
    first = editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="brief-1")
    again = editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="brief-1")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert GenerationTask.objects.count() == 1


def test_same_idempotency_key_from_another_user_creates_their_own_task(editor_client, reviewer_client):
    mine = editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="k")
    theirs = reviewer_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs


def test_idempotency_key_reused_with_another_body_is_a_422(editor_client):
    editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="brief-1")

    response = editor_client.post(
        "/api/tasks", {**BRIEF, "topic": "Something else"}, format="json", HTTP_IDEMPOTENCY_KEY="brief-1"
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert GenerationTask.objects.count() == 1


def test_idempotency_key_longer_than_200_characters_is_a_400(editor_client):
    response = editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="k" * 201)

    assert_field_error(response, "Idempotency-Key")
    assert not GenerationTask.objects.exists()


# --- Throttling ---------------------------------------------------------------------------


def test_eleventh_create_in_an_hour_is_throttled_with_retry_after(editor_client, create_rate):
    create_rate("10/hour")

    statuses = [editor_client.post("/api/tasks", BRIEF, format="json").status_code for _ in range(11)]

    assert statuses == [201] * 10 + [429]
    response = editor_client.post("/api/tasks", BRIEF, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    assert GenerationTask.objects.count() == 10


def test_creation_throttle_is_per_user(editor_client, reviewer_client, create_rate):
    create_rate("1/hour")

    assert editor_client.post("/api/tasks", BRIEF, format="json").status_code == 201
    assert editor_client.post("/api/tasks", BRIEF, format="json").status_code == 429
    assert reviewer_client.post("/api/tasks", BRIEF, format="json").status_code == 201


def test_reads_are_not_throttled(editor_client, create_rate):
    create_rate("1/hour")
    task_id = editor_client.post("/api/tasks", BRIEF, format="json").json()["id"]
    assert editor_client.post("/api/tasks", BRIEF, format="json").status_code == 429

    statuses = {editor_client.get("/api/tasks").status_code for _ in range(5)}
    statuses |= {editor_client.get(f"/api/tasks/{task_id}").status_code for _ in range(5)}
    statuses |= {editor_client.get(f"/api/tasks/{task_id}/events").status_code for _ in range(5)}

    assert statuses == {200}


# --- Listing ------------------------------------------------------------------------------


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [task["id"] for task in response.json()["results"]]


@SLASHES
def test_list_is_paginated_newest_first(slash, editor_client, editor):
    older, newer = submit_task(created_by=editor), submit_task(created_by=editor)

    response = editor_client.get(f"/api/tasks{slash}")

    assert response.json()["count"] == 2
    assert ids(response) == [str(newer.pk), str(older.pk)]


def test_list_filters_by_status(editor_client, editor):
    queued, failed = submit_task(created_by=editor), submit_task(created_by=editor)
    set_status(failed, status="failed", finished_at=timezone.now())

    assert ids(editor_client.get("/api/tasks?status=failed")) == [str(failed.pk)]
    assert ids(editor_client.get("/api/tasks?status=queued")) == [str(queued.pk)]


def test_list_filters_by_priority_exactly_and_by_range(editor_client, editor):
    low, mid, high = (submit_task(created_by=editor, priority=p) for p in (-10, 5, 50))

    assert ids(editor_client.get("/api/tasks?priority=5")) == [str(mid.pk)]
    assert set(ids(editor_client.get("/api/tasks?priority_min=0"))) == {str(mid.pk), str(high.pk)}
    assert set(ids(editor_client.get("/api/tasks?priority_max=5"))) == {str(low.pk), str(mid.pk)}
    assert ids(editor_client.get("/api/tasks?priority_min=0&priority_max=10")) == [str(mid.pk)]


def test_list_filters_by_creation_range(editor_client, editor):
    old, recent = submit_task(created_by=editor), submit_task(created_by=editor)
    now = timezone.now()
    GenerationTask.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=10))
    cutoff = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert ids(editor_client.get("/api/tasks", {"created_after": cutoff})) == [str(recent.pk)]
    assert ids(editor_client.get("/api/tasks", {"created_before": cutoff})) == [str(old.pk)]


def test_list_filters_by_model_and_task_type(editor_client, editor):
    offline = submit_task(created_by=editor)
    image = submit_task(created_by=editor, task_type="image_generation",
                        model=ModelCatalogEntry.objects.get(key="gpt-4o"))

    assert ids(editor_client.get("/api/tasks?model=gpt-4o")) == [str(image.pk)]
    assert ids(editor_client.get("/api/tasks?model=offline")) == [str(offline.pk)]
    assert ids(editor_client.get("/api/tasks?task_type=image_generation")) == [str(image.pk)]


def test_list_searches_title_and_topic(editor_client, editor):
    by_title = submit_task(created_by=editor, title="Gardening for coders", topic="Soil")
    by_topic = submit_task(created_by=editor, topic="Gardening at scale")
    submit_task(created_by=editor, topic="Unrelated")

    assert set(ids(editor_client.get("/api/tasks?search=gardening"))) == {str(by_title.pk), str(by_topic.pk)}


def test_list_orders_by_the_requested_field(editor_client, editor):
    tasks = [submit_task(created_by=editor, priority=p) for p in (3, -1, 7)]

    by_priority = ids(editor_client.get("/api/tasks?ordering=priority"))
    by_priority_desc = ids(editor_client.get("/api/tasks?ordering=-priority"))

    assert by_priority == [str(tasks[i].pk) for i in (1, 0, 2)]
    assert by_priority_desc == list(reversed(by_priority))


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=bogus", "status"),
        ("created_after=notadate", "created_after"),
        ("created_before=notadate", "created_before"),
        ("priority=high", "priority"),
        ("priority_min=1.5", "priority_min"),
        ("model=no-such-model", "model"),
        ("task_type=podcast", "task_type"),
    ],
)
def test_invalid_filter_value_is_a_field_level_400(editor_client, query, field):
    assert_field_error(editor_client.get(f"/api/tasks?{query}"), field)


def test_editor_lists_only_own_tasks_and_reviewer_lists_all(editor_client, reviewer_client, editor, other_editor):
    mine, theirs = submit_task(created_by=editor), submit_task(created_by=other_editor)

    assert ids(editor_client.get("/api/tasks")) == [str(mine.pk)]
    assert set(ids(reviewer_client.get("/api/tasks"))) == {str(mine.pk), str(theirs.pk)}


# --- Visibility ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, suffix, data",
    [
        ("get", "", None),
        ("patch", "", {"priority": 5}),
        ("delete", "", None),
        ("post", "/cancel", None),
        ("post", "/retry", None),
        ("get", "/events", None),
    ],
)
def test_another_editors_task_is_a_404_for_every_verb(other_editor_client, editor, method, suffix, data):
    task = submit_task(created_by=editor)

    response = getattr(other_editor_client, method)(f"/api/tasks/{task.pk}{suffix}", data, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    task.refresh_from_db()
    assert (task.status, task.priority) == ("queued", 0)


@SLASHES
def test_reviewer_can_read_an_editors_task(slash, reviewer_client, editor):
    task = submit_task(created_by=editor)

    response = reviewer_client.get(f"/api/tasks/{task.pk}{slash}")

    assert response.status_code == 200
    assert response.json()["id"] == str(task.pk)
    assert response.json()["created_by"] == "editor1"


def test_malformed_task_id_is_a_404(editor_client):
    response = editor_client.get("/api/tasks/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/tasks"),
        ("post", "/api/tasks"),
        ("get", "/api/tasks/00000000-0000-0000-0000-000000000000"),
        ("post", "/api/tasks/00000000-0000-0000-0000-000000000000/cancel"),
        ("get", "/api/tasks/00000000-0000-0000-0000-000000000000/events/"),
    ],
)
def test_unauthenticated_requests_are_a_401(api_client, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- Changing the brief -------------------------------------------------------------------


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
