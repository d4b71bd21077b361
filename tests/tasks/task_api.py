"""What the task API tests share: a valid brief, both URL spellings, and the field-level 400."""

from __future__ import annotations

import pytest

from tasks.models import GenerationTask

BRIEF = {"task_type": "blog_post", "topic": "Why tests should fail first"}
SLASHES = pytest.mark.parametrize("slash", ["", "/"])


def set_status(task, **fields) -> None:
    GenerationTask.objects.filter(pk=task.pk).update(**fields)


def assert_field_error(response, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
