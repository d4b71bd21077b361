"""The phase timeline is computed once, by `tasks.selectors.phase_timeline`: the task page renders
it and live-progress.js reads it from `/api/tasks/{id}/timeline` instead of recomputing it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tasks.models import GenerationTask, TaskEvent
from tasks.selectors import phase_timeline
from tests.factories import make_task

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _record(monkeypatch, task, seconds: float, status: str, phase: str = "") -> None:
    monkeypatch.setattr(timezone, "now", lambda: START + timedelta(seconds=seconds))
    sequence = task.events.count() + 1
    TaskEvent.objects.create(task=task, sequence=sequence, kind="status", status=status, phase=phase)
    GenerationTask.objects.filter(pk=task.pk).update(event_sequence=sequence)


@pytest.fixture
def running_task(editor, monkeypatch):
    task = make_task(created_by=editor, status="running", phase="draft")
    _record(monkeypatch, task, 0, "queued")
    _record(monkeypatch, task, 2, "running", "research")
    _record(monkeypatch, task, 12, "running", "draft")
    return task


def test_a_running_phase_carries_its_closed_seconds_and_when_it_started(running_task):
    steps = {step["phase"]: step for step in phase_timeline(running_task, now=START + timedelta(seconds=77))}
    assert (steps["research"]["state"], steps["research"]["seconds"], steps["research"]["running_since"]) == (
        "done", 10.0, None)
    assert (steps["draft"]["state"], steps["draft"]["duration"], steps["draft"]["running_since"]) == (
        "running", "1 min 05 s", START + timedelta(seconds=12))
    assert (steps["qa"]["state"], steps["qa"]["duration"]) == ("pending", "")


def test_the_api_serves_the_selectors_timeline_to_those_who_may_see_the_task(running_task, editor_client, monkeypatch):
    now = START + timedelta(seconds=77)
    monkeypatch.setattr(timezone, "now", lambda: now)
    response = editor_client.get(reverse("api:task_timeline", kwargs={"task_id": running_task.pk}))
    assert response.status_code == 200
    expected = [
        {**step, "running_since": step["running_since"] and step["running_since"].isoformat().replace("+00:00", "Z")}
        for step in phase_timeline(running_task, now=now)
    ]
    assert response.json() == expected


def test_the_timeline_of_a_task_someone_else_created_is_a_404(running_task, other_editor):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other_editor)
    assert client.get(reverse("api:task_timeline", kwargs={"task_id": running_task.pk})).status_code == 404


def test_a_task_type_shows_only_the_phases_its_pipeline_runs():
    blog = make_task(task_type="blog_post")
    image = make_task(task_type="image_generation")
    now = timezone.now()

    assert [step["phase"] for step in phase_timeline(blog, now=now)] == ["research", "draft", "qa", "image", "format"]
    assert [step["phase"] for step in phase_timeline(image, now=now)] == ["image"]
