"""Shared fixtures: users in each editorial role and API clients logged in as them.

Tests run against real PostgreSQL (DATABASE_URL, or the embedded server `make test` starts).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from publishing.roles import EDITORS, REVIEWERS
from tests.factories import make_user
from tests.faults.servers import RedisServer
from tests.processes import free_port
from tests.seed import ensure_seed_data


DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, and before it is dropped, the connections to it that a
    process keeps between tasks: the event broadcaster's channel layer and the heartbeat
    connection (DROP DATABASE refuses while any session is connected)."""
    yield
    from tasks.broadcaster import broadcaster
    from tasks.engine.watchdog import close_heartbeat_connection

    broadcaster().close()
    close_heartbeat_connection()


@pytest.fixture(autouse=True)
def _isolated_cache(request, settings):
    """Throttle and idempotency state must not leak from one test into the next.

    Without Redis the cache is a database table, which exists only for tests that use the
    database (pytest-django creates the test database only when some test needs it).
    """
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache

    # A transactional test's flush recreates the content types under new ids; the process's cache
    # of them would make the next admin log entry point at one that is gone.
    ContentType.objects.clear_cache()
    uses_database = request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames)
    if "DatabaseCache" in settings.CACHES["default"]["BACKEND"]:
        if not uses_database:
            yield
            return
        marker = request.node.get_closest_marker("django_db")
        transactional = "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction"))
        request.getfixturevalue("transactional_db" if transactional else "db")
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _slow_tests_are_marked(request, monkeypatch):
    """A test that starts a cluster, a web server, `make run`/`make serve` or a browser must be
    marked `slow`, so that `make test-fast` (pytest -m "not slow") leaves it out; an unmarked one
    fails here the moment it tries."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    from tests.processes import Cluster, WebServer
    from tests.scripts.make_target import MakeTarget

    def refuse(self, *args, **kwargs):
        pytest.fail(f"{request.node.nodeid} starts {type(self).__name__}: mark it @pytest.mark.slow", pytrace=False)

    for starter in (Cluster, WebServer, MakeTarget):
        monkeypatch.setattr(starter, "__init__", refuse)
    if "chromium" in request.fixturenames:
        pytest.fail(f"{request.node.nodeid} drives a browser: mark it @pytest.mark.slow", pytrace=False)
    yield


def role(name: str) -> Group:
    """The editorial group, re-seeded first if a transactional test's flush removed it."""
    if not Group.objects.filter(name=name).exists():
        ensure_seed_data()
    return Group.objects.get(name=name)


def _member(username: str, group: str):
    """A staff user in one editorial group."""
    user = make_user(username)
    user.groups.add(role(group))
    return user


def _client_for(user) -> APIClient:
    """An API client authenticated as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def editor(db):
    return _member("editor1", EDITORS)


@pytest.fixture
def other_editor(db):
    return _member("editor2", EDITORS)


@pytest.fixture
def reviewer(db):
    return _member("reviewer1", REVIEWERS)


@pytest.fixture
def superuser(db):
    return make_user("root", is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def editor_client(editor):
    return _client_for(editor)


@pytest.fixture
def other_editor_client(other_editor):
    return _client_for(other_editor)


@pytest.fixture
def reviewer_client(reviewer):
    return _client_for(reviewer)


@pytest.fixture
def redis_server():
    """A `redis-server` of the test's own (no persistence, a free port), stopped afterwards; tests
    that use it are marked `needs_redis_server` (tests/faults/servers.py)."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def database_stopped():
    """This process's connection pointed at a port where no PostgreSQL listens, then restored: for a
    test that needs the database first (a login) and then its outage."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def stopped_database():
    """The test's connection pointed at a port where no PostgreSQL listens, then restored."""
    with database_stopped():
        yield
