"""Shared fixtures: users in each editorial role and API clients logged in as them.

Tests run against real PostgreSQL (DATABASE_URL, or the embedded server `make test` starts).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from publishing.roles import EDITORS, REVIEWERS
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Throttle and idempotency state must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def editor(db):
    user = make_user("editor1")
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


@pytest.fixture
def other_editor(db):
    user = make_user("editor2")
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


@pytest.fixture
def reviewer(db):
    user = make_user("reviewer1")
    user.groups.add(Group.objects.get(name=REVIEWERS))
    return user


@pytest.fixture
def superuser(db):
    return make_user("root", is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def editor_client(editor):
    client = APIClient()
    client.force_authenticate(editor)
    return client


@pytest.fixture
def reviewer_client(reviewer):
    client = APIClient()
    client.force_authenticate(reviewer)
    return client
