"""Briefs that try to slip past the API's rules: numbers for text, research notes over the limit."""

from __future__ import annotations

import pytest

from tasks.api.serializers import RESEARCH_NOTES_MAX
from tasks.models import GenerationTask
from tests.tasks.task_api import BRIEF, assert_field_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "field, value",
    [("topic", 1234567890), ("title", 5), ("style", 1), ("tone", 2.5), ("model", 7),
     ("target_audience", True), ("primary_keyword", 42), ("category", ["x"]), ("tags", [1, 2])],
)
def test_a_number_or_other_non_string_for_a_text_field_is_refused(editor_client, field, value):
    response = editor_client.post("/api/tasks", {**BRIEF, field: value}, format="json")
    assert_field_error(response, field)
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize(
    "brief",
    [
        {"metadata": {"research": {"text": "x" * (RESEARCH_NOTES_MAX + 1)}}},
        {"metadata": {"research": {"text": "x" * 45_000, "urls": []}}},
        {"research_notes": "x" * (RESEARCH_NOTES_MAX + 1)},
    ],
    ids=["metadata-just-over", "metadata-45k", "research_notes"],
)
def test_research_notes_over_the_limit_are_refused_wherever_they_arrive(editor_client, brief):
    response = editor_client.post("/api/tasks", {**BRIEF, **brief}, format="json")
    assert response.status_code == 400, response.content
    assert str(RESEARCH_NOTES_MAX) in response.content.decode()
    assert not GenerationTask.objects.exists()


def test_research_notes_at_the_limit_in_metadata_are_accepted(editor_client):
    brief = {**BRIEF, "metadata": {"research": {"text": "x" * RESEARCH_NOTES_MAX}}}
    assert editor_client.post("/api/tasks", brief, format="json").status_code == 201
