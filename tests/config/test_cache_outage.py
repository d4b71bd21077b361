"""With `REDIS_URL` set and Redis down, what counts in the cache degrades and nothing answers 500:
throttles let requests through (config/throttling.py), a change to the blog is saved even though
its pages cannot be invalidated (publishing/caching.py)."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from publishing.models import Category
from tests.processes import free_port
from tests.tasks.task_api import BRIEF

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down():
    """The default cache is a Redis server that is not there (a closed port on loopback)."""
    unreachable = {
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    from django.conf import settings

    with override_settings(CACHES={**settings.CACHES, "default": unreachable}):
        yield


def test_task_creation_is_not_refused_when_the_throttle_cannot_count(redis_down, editor_client, caplog):
    with caplog.at_level(logging.WARNING, logger="config.throttling"):
        response = editor_client.post("/api/tasks", BRIEF, format="json")

    assert response.status_code == 201, response.content
    assert "cannot reach its cache" in caplog.text


def test_the_public_api_answers_when_its_throttle_cannot_count(redis_down, client):
    response = client.get("/api/posts")

    assert response.status_code == 200, response.content


def test_the_token_endpoint_answers_when_its_throttle_cannot_count(redis_down, client, editor):
    editor.set_password("right-password")
    editor.save()

    response = client.post("/api/auth/token", {"username": editor.username, "password": "right-password"},
                           content_type="application/json")

    assert response.status_code == 200, response.content


def test_a_blog_change_is_saved_when_its_pages_cannot_be_invalidated(redis_down, caplog):
    with caplog.at_level(logging.ERROR, logger="publishing.caching"):
        Category.objects.create(name="Gardening", slug="gardening")

    assert Category.objects.filter(slug="gardening").exists()
    assert "were not invalidated" in caplog.text


def test_while_redis_is_away_each_request_logs_one_line_without_a_traceback(redis_down, client, caplog):
    """Before, the blog's and each throttle's warning carried the whole traceback: 5 kB per request
    for as long as Redis was away."""
    with caplog.at_level(logging.WARNING):
        assert client.get("/api/posts").status_code == 200
        assert client.get("/").status_code == 200

    lines = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert sorted(record.name for record in lines) == ["config.throttling", "publishing.caching"], caplog.text
    assert not any(record.exc_info for record in lines)
    assert all("ConnectionError: " in record.getMessage() for record in lines), caplog.text
