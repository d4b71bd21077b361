"""The task API's creation: brief validation, idempotency and throttling."""

from __future__ import annotations

import pytest
from rest_framework.throttling import ScopedRateThrottle

from tasks.models import GenerationTask, ModelCatalogEntry
from tests.tasks.task_api import BRIEF, SLASHES, assert_field_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def create_rate():
    """Set the creation rate; DRF reads THROTTLE_RATES once, at class definition, so patch the class."""
    original = ScopedRateThrottle.THROTTLE_RATES

    def set_rate(rate: str) -> None:
        ScopedRateThrottle.THROTTLE_RATES = {**original, "task_create": rate}

    yield set_rate
    ScopedRateThrottle.THROTTLE_RATES = original

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
