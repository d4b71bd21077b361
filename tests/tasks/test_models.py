from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from tasks.exceptions import AppendOnlyViolation
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tests.factories import make_task, offline_model

pytestmark = pytest.mark.django_db


def _raw_update(table: str, assignment: str, where: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignment} WHERE {where}")


@pytest.mark.parametrize(
    "field, value",
    [
        ("status", "generating"),
        ("phase", "creative"),
        ("approval_status", "maybe"),
        ("task_type", "podcast"),
        ("style", "poetic"),
        ("tone", "sarcastic"),
        ("word_count_tolerance", 30),
        ("word_count_tolerance", 4),
        ("word_count", 99),
        ("word_count", 10_001),
        ("progress", 101),
        ("priority", 101),
        ("max_attempts", 0),
        ("topic", "ab"),
    ],
)
def test_database_rejects_out_of_range_task_values(field, value):
    task = make_task()
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationTask.objects.filter(pk=task.pk).update(**{field: value})


def test_finished_task_needs_finished_at():
    task = make_task()
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationTask.objects.filter(pk=task.pk).update(status="completed")


def test_task_defaults_describe_a_queued_pending_brief(settings):
    task = make_task()
    task.refresh_from_db()
    assert task.status == "queued"
    assert task.phase == ""
    assert task.approval_status == "pending"
    assert task.word_count_tolerance == 10
    assert task.timeout_seconds == settings.PRESSROOM_TASK_TIMEOUT
    assert task.id.version == 4
    assert task.created_at.tzinfo is not None


def test_task_event_sequence_is_unique_per_task():
    task = make_task()
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued")
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskEvent.objects.create(task=task, sequence=1, kind="status", status="running")
    TaskEvent.objects.create(task=make_task(), sequence=1, kind="created", status="queued")


def test_task_events_cannot_be_edited_but_go_with_their_task():
    task = make_task()
    event = TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued")
    event.message = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        TaskEvent.objects.filter(pk=event.pk).update(message="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_update("tasks_taskevent", "message = 'rewritten'", f"id = {event.pk}")
    task.delete()
    assert not TaskEvent.objects.exists()


def test_catalog_is_seeded_with_offline_as_the_free_default():
    offline = offline_model()
    assert offline.is_default and offline.enabled
    assert offline.input_price_per_million == offline.output_price_per_million == 0
    hosted = ModelCatalogEntry.objects.exclude(provider="offline")
    assert {entry.provider for entry in hosted} >= {"openai_compatible", "anthropic"}
    assert hosted.filter(base_url__startswith="http://127.0.0.1:11434").exists(), "a local Ollama model"
    assert all(entry.api_key_env in ("", "OPENAI_API_KEY", "ANTHROPIC_API_KEY") for entry in hosted)


def test_catalog_allows_only_one_default_and_only_key_variable_names():
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelCatalogEntry.objects.create(key="second", display_name="x", provider="offline", is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelCatalogEntry.objects.create(key="leaky", display_name="x", provider="openai_compatible",
                                         base_url="https://llm.example.com/v1", api_key_env="SECRET_KEY")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelCatalogEntry.objects.create(key="bad", display_name="x", provider="ollama")


def test_catalog_cost_uses_prices_per_million_tokens():
    entry = ModelCatalogEntry(input_price_per_million=Decimal("3"), output_price_per_million=Decimal("15"))
    assert entry.cost_of(input_tokens=1_000, output_tokens=2_000) == Decimal("0.033")
