"""Secrets are never logged or returned.

A real pipeline runs in-process against a local OpenAI-compatible server with a provider key in
the environment (the catalog names only the variable: `tasks.models.catalog`). One task succeeds,
one is refused with 401 and one gets a 500, both by a server that echoes the key it was sent in its
error message, as real APIs do. Then the provider key, the database password, `SECRET_KEY`, a JWT
and every password hash must appear in no log record (every logger at DEBUG), no task error or
event, no API answer, no admin page (the catalog's form included) and no WebSocket frame.
"""

from __future__ import annotations

import logging

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from content.providers.base import Brief
from publishing.roles import EDITORS
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tests.content.fake_servers import Fail, OpenAIChatServer, Reply
from tests.content.test_pipeline import (  # noqa: F401 (pipeline: a fixture)
    KEY_VARIABLE, OUTLINE_JSON, fake_model, good_article, pipeline, run_one,
)
from tests.conftest import role
from tests.factories import make_user, submit_task
from tests.tasks.websocket_support import next_frame, opened, own_channel_layer, run  # noqa: F401

PROVIDER_KEY = "sk-live-5ecr3t-4f9a2c7e1b8d"
BRIEF = Brief(topic="Heat pumps that work", word_count=300, primary_keyword="heat pump")


def secrets(token: str) -> dict[str, str]:
    """Every secret there is in this run, by name (the database password only when there is one)."""
    found = {"provider key": PROVIDER_KEY, "SECRET_KEY": django_settings.SECRET_KEY, "JWT": token}
    if django_settings.DATABASES["default"].get("PASSWORD"):
        found["database password"] = django_settings.DATABASES["default"]["PASSWORD"]
    for username, hashed in get_user_model().objects.values_list("username", "password"):
        found[f"password hash of {username}"] = hashed.split("$")[-1]  # the hash part, not the algorithm name
    return found


def assert_no_secret(where: str, text: str, found: dict) -> None:
    leaked = [name for name, value in found.items() if value and value in text]
    assert not leaked, f"{', '.join(leaked)} in {where}"


@pytest.fixture
def run_tasks(pipeline, monkeypatch, caplog):  # noqa: F811
    """Three tasks through the pipeline: one completed, one refused (401), one failed (500)."""
    caplog.set_level(logging.DEBUG)
    pipeline.PRESSROOM_CALL_RETRIES = 0
    editor = make_user("secret_editor")
    editor.groups.add(role(EDITORS))
    scripts = {
        "Heat pumps that work": [Reply(OUTLINE_JSON), Reply(good_article(BRIEF)), Reply("Fine.")],
        "Heat pumps refused": [Fail(401, "Incorrect API key provided: {key}", "invalid_request_error")],
        "Heat pumps broken": [Fail(500, "Internal error while serving key {key}", "server_error")],
    }
    tasks, model = [], None
    for topic, script in scripts.items():
        with OpenAIChatServer(*script) as server:
            if model is None:
                model = fake_model(server, monkeypatch)
                monkeypatch.setenv(KEY_VARIABLE, PROVIDER_KEY)
            ModelCatalogEntry.objects.filter(pk=model.pk).update(base_url=f"{server.url}/v1")
            tasks.append(submit_task(created_by=editor, topic=topic, word_count=300, primary_keyword="heat pump",
                                     model=model, max_attempts=1))
            run_one()
            assert PROVIDER_KEY in server.requests[0].headers["authorization"], "the key was sent"
    return editor, [GenerationTask.objects.get(pk=t.pk) for t in tasks], ModelCatalogEntry.objects.get(pk=model.pk)


def test_no_secret_in_logs_task_errors_or_events(run_tasks, caplog):
    editor, tasks, _ = run_tasks
    found = secrets(str(AccessToken.for_user(editor)))
    assert [t.status for t in tasks] == ["completed", "failed", "failed"], [t.error for t in tasks]
    for record in caplog.records:
        text = record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        assert_no_secret(f"log record {record.name}", text + repr(record.__dict__.get("args")), found)
    for task in tasks:
        assert_no_secret(f"error of {task.topic}", task.error, found)
    for event in TaskEvent.objects.all():
        assert_no_secret(f"event {event.sequence} of {event.task_id}", event.message + repr(event.data), found)


def test_no_secret_in_any_api_answer(run_tasks):
    editor, tasks, _ = run_tasks
    token = str(AccessToken.for_user(editor))
    found = secrets(token)  # an answer must not echo even the request's own token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    paths = ["/api/models", "/api/schema", "/api/auth/me", "/api/tasks"]
    for task in tasks:
        base = f"/api/tasks/{task.pk}"
        paths += [base, f"{base}/events", f"{base}/timeline", f"{base}/versions", f"{base}/approvals"]
        paths += [f"{base}/versions/{v.number}" for v in task.versions.all()]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_secret(path, response.content.decode(), found)


def test_no_secret_in_any_admin_page(run_tasks):
    editor, tasks, model = run_tasks
    root = make_user("secret_root", is_superuser=True)
    client = Client()
    client.force_login(root)
    found = secrets(str(AccessToken.for_user(editor)))
    paths = ["/admin/", "/admin/tasks/modelcatalogentry/", f"/admin/tasks/modelcatalogentry/{model.pk}/change/",
             "/admin/tasks/generationtask/", "/admin/tasks/taskevent/", "/admin/auth/user/",
             f"/admin/auth/user/{editor.pk}/change/"]
    paths += [f"/admin/tasks/generationtask/{task.pk}/change/" for task in tasks]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_secret(path, response.content.decode(), found)


def test_no_secret_in_any_websocket_frame(run_tasks):
    editor, tasks, _ = run_tasks
    found = secrets(str(AccessToken.for_user(editor)))

    async def scenario():
        for task in tasks:
            count = await TaskEvent.objects.filter(task_id=task.pk).acount()
            ws = await opened(f"/ws/tasks/{task.pk}?after=0", editor)
            frames = [await next_frame(ws) for _ in range(count + 1)]  # the snapshot, then every event
            await ws.disconnect()
            assert_no_secret(f"a frame of {task.topic}", repr(frames), found)

    run(scenario)
