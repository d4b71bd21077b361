"""Fixtures shared by the publishing tests."""

import pytest


@pytest.fixture
def enqueued(monkeypatch):
    """The django-q2 jobs enqueued, as (func, args, kwargs), instead of sending them to the broker."""
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append((func, args, kwargs)))
    return calls
