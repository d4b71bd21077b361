"""Small factories that build valid rows; each test overrides only what it is about."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from content.models import ContentVersion
from tasks.models import GenerationTask, ModelCatalogEntry

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def make_user(username: str | None = None, *, is_superuser: bool = False, password: str = PASSWORD):
    username = username or f"user{next(_counter)}"
    return get_user_model().objects.create_user(
        username=username, password=password, is_staff=True, is_superuser=is_superuser
    )


def offline_model() -> ModelCatalogEntry:
    return ModelCatalogEntry.objects.get(key="offline")


def make_task(**fields) -> GenerationTask:
    fields.setdefault("topic", f"Topic number {next(_counter)}")
    fields.setdefault("model", offline_model())
    return GenerationTask.objects.create(**fields)


def make_version(task: GenerationTask, **fields) -> ContentVersion:
    fields.setdefault("number", (task.versions.count() + 1))
    fields.setdefault("phase", "draft")
    fields.setdefault("title", "A title")
    fields.setdefault("body", "Some body text.")
    return ContentVersion.objects.create(task=task, **fields)


def submit_task(created_by=None, **brief) -> GenerationTask:
    """Queue a task the way the API and the admin do (through the service: event, wake-up)."""
    from tasks.services import task_create

    brief.setdefault("topic", f"Topic number {next(_counter)}")
    task, _ = task_create(created_by=created_by, brief=brief)
    return task
