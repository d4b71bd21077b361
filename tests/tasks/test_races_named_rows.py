"""Rows a task's verb names, deleted while it was on its way: found by the request, then someone
else's deletion committed before the task naming them was written. Django's foreign keys are
checked at commit, so the task was written, the commit failed (an IntegrityError, a 500) and the
request's other work was lost. The verbs now keep what they name until they commit
(`config.locks.rows_kept`) and refuse, as a request naming it a moment later would be refused.

Each interleaving is forced with two connections (`tests.races.run_while_holding`): the deletion
holds its locks, uncommitted, while the verb runs on the other connection."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tasks.models import GenerationTask, ModelCatalogEntry
from tasks.services import task_retry
from tasks.services.lifecycle import ModelUnavailable
from tests.factories import make_task, offline_model
from tests.races import run_while_holding
from tests.seed import ensure_seed_data
from tests.tasks.task_api import assert_field_error

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def house():
    """A catalog model no task names yet, so that a superuser may delete it (tasks PROTECT theirs)."""
    ensure_seed_data()  # the catalog's default model, which an earlier transactional test's flush removed
    return ModelCatalogEntry.objects.create(key="house-llm", display_name="House LLM", provider="openai_compatible",
                                            base_url="https://llm.example.com/v1")


def _deleting(entry: ModelCatalogEntry):
    return lambda: ModelCatalogEntry.objects.get(pk=entry.pk).delete()


def test_a_brief_naming_a_model_deleted_from_the_catalog_meanwhile_is_a_400_on_model(editor_client, house):
    outcome = run_while_holding(_deleting(house), lambda: editor_client.post(
        "/api/tasks", {"topic": "Heat pumps in old houses", "model": "house-llm"}, format="json"))

    assert not isinstance(outcome, Exception), repr(outcome)
    assert_field_error(outcome, "model")
    assert "removed from the catalog meanwhile" in outcome.json()["error"]["message"]
    assert not GenerationTask.objects.exists()


def test_a_queued_brief_moved_to_a_model_deleted_meanwhile_is_a_400_and_keeps_its_model(editor, editor_client, house):
    task = make_task(created_by=editor)

    outcome = run_while_holding(_deleting(house), lambda: editor_client.patch(
        f"/api/tasks/{task.pk}", {"model": "house-llm"}, format="json"))

    assert not isinstance(outcome, Exception), repr(outcome)
    assert_field_error(outcome, "model")
    task.refresh_from_db()
    assert task.model == offline_model()


def test_a_retry_on_a_model_deleted_meanwhile_is_refused_and_leaves_the_task_failed(editor, house):
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now(), error="boom")

    outcome = run_while_holding(_deleting(house), lambda: task_retry(task=task, by=editor, model=house))

    assert isinstance(outcome, ModelUnavailable), repr(outcome)
    assert "removed from the catalog meanwhile" in str(outcome)
    task.refresh_from_db()
    assert (task.status, task.model) == ("failed", offline_model())


def test_a_brief_from_an_account_deleted_meanwhile_is_a_404_and_queues_nothing(editor, editor_client):
    """A superuser deletes the editor's account while the editor's brief is being queued. Before,
    the task was inserted naming the deleted account and the commit failed (a 500)."""
    ensure_seed_data()

    outcome = run_while_holding(lambda: get_user_model().objects.get(pk=editor.pk).delete(), lambda: (
        editor_client.post("/api/tasks", {"topic": "Heat pumps in old houses"}, format="json")))

    assert not isinstance(outcome, Exception), repr(outcome)
    assert outcome.status_code == 404, outcome.content
    assert outcome.json()["error"]["message"] == "Your account was deleted meanwhile; nothing was saved."
    assert not GenerationTask.objects.exists()
