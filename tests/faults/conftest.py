"""Fixtures of the fault tests: a PostgreSQL server of their own, processes they may kill.

Every test in this package runs on a throwaway PostgreSQL server (`fault_database`): the test
database pytest-django made is copied there (schema and rows, with `pg_dump`), and this process's
connection is pointed at the copy for the package's duration, so the clusters and web servers
the tests start (`tests.processes.test_database_url()`) use it too. Restarting that server is an
outage nobody else sees. Processes run without `REDIS_URL` unless a test passes a Redis of its
own, so no fault test touches the machine's Redis either.
"""

from __future__ import annotations

import subprocess

import pytest
from django.conf import settings
from django.db import connection

from tests.faults.servers import PG_BIN, PostgresServer
from tests.seed import ensure_seed_data

DATABASE_NAME = "pressroom_faults"


@pytest.fixture(scope="package", autouse=True)
def fault_database(django_db_setup, django_db_blocker):
    """The package's own PostgreSQL server holding a copy of the test database."""
    server = PostgresServer()
    try:
        server.start()
        with django_db_blocker.unblock():
            _copy_test_database(server)
        original = {key: connection.settings_dict[key] for key in ("HOST", "PORT", "NAME", "USER", "PASSWORD")}
        connection.close()
        moved = {"HOST": "127.0.0.1", "PORT": str(server.port), "NAME": DATABASE_NAME, "USER": "postgres",
                 "PASSWORD": ""}
        for target in {id(d): d for d in (connection.settings_dict, settings.DATABASES["default"])}.values():
            target.update(moved)
        try:
            yield server
        finally:
            connection.close()
            for target in {id(d): d for d in (connection.settings_dict, settings.DATABASES["default"])}.values():
                target.update(original)
    finally:
        server.remove()


def _copy_test_database(server: PostgresServer) -> None:
    source = connection.settings_dict
    environment = {"PGPASSWORD": source["PASSWORD"] or ""}
    dump = subprocess.run(
        [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
         "-p", str(source["PORT"] or 5432), "-U", source["USER"], source["NAME"]],
        check=True, capture_output=True, timeout=120, env={**_path_env(), **environment},
    ).stdout
    target = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"]
    subprocess.run([str(PG_BIN / "createdb"), *target, DATABASE_NAME], check=True, timeout=60, env=_path_env())
    subprocess.run(
        [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", *target, DATABASE_NAME],
        input=dump, check=True, capture_output=True, timeout=120, env=_path_env(),
    )
    connection.close()


def _path_env() -> dict:
    import os

    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest.fixture
def seeded(transactional_db):
    """The rows a migrated database starts with, the reconciler's minutely schedule included: a
    transactional test's flush removes it, and a fault that loses a wake-up (Redis down) relies on
    it, as production does."""
    from importlib import import_module

    from django.apps import apps

    ensure_seed_data()
    import_module("tasks.migrations.0004_reconcile_schedule").create_schedule(apps, None)


@pytest.fixture
def without_redis(monkeypatch):
    """The processes a test starts inherit os.environ: no REDIS_URL, so PostgreSQL is their broker,
    channel layer and cache."""
    monkeypatch.delenv("REDIS_URL", raising=False)


@pytest.fixture
def processes(tmp_path):
    """Start clusters and web servers (`processes(Cluster, name=..., ...)`); all are killed at the
    end (the test has asserted what it needed; a graceful stop would only cost time)."""
    started = []

    def start(kind, **kwargs):
        process = kind(tmp_path, **kwargs)
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.kill()


@pytest.fixture
def pipeline(seeded, settings, tmp_path):
    """The real content pipeline, fast heartbeats, media in a temporary folder."""
    settings.PRESSROOM_TASK_TYPES = {"blog_post": "content.pipeline.BLOG_POST_STAGES"}
    settings.PRESSROOM_HEARTBEAT_SECONDS = 1
    settings.PRESSROOM_HEARTBEAT_STALE_SECONDS = 3
    settings.PRESSROOM_RETRY_BASE_SECONDS = 0
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings
