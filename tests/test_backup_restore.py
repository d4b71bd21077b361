"""Backing up and restoring, as the README says to: `pg_dump --format=custom` of a database in use,
`pg_restore --no-owner` into a new, empty database owned by another role, then `migrate` and a new
cluster on it (README, "Backing up and restoring").

The dump is taken of the test database filled through the services (`tests.populated`), with a run
caught mid-way: its worker's heartbeat an hour old and its deadline passed, as a dump restored
hours later finds it. The new cluster takes its jobs from a queue of its own: with the Redis broker,
the wake-up jobs are not in the dump, and the reconciler must wake workers for the queued tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from tasks.models import GenerationTask, Status
from tests.populated import COUNTED, populate
from tests.processes import BASE_DIR, Cluster, wait_for

pytestmark = pytest.mark.slow


def _server_args() -> list[str]:
    db = connection.settings_dict
    args = ["-h", db["HOST"] or "127.0.0.1", "-U", db["USER"] or "postgres"]
    return args + (["-p", str(db["PORT"])] if db["PORT"] else [])


def _conninfo(name: str, user: str | None = None) -> str:
    db = connection.settings_dict
    return psycopg.conninfo.make_conninfo(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or None,
                                          user=user or db["USER"], password=db["PASSWORD"] or None, dbname=name)


def _url(name: str, user: str) -> str:
    db = connection.settings_dict
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{user}@{db['HOST'] or '127.0.0.1'}{port}/{name}"


def _run(*command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGPASSWORD": connection.settings_dict["PASSWORD"] or "", **(env or {})}
    return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def _facts(conninfo: str) -> dict:
    """What the restore must carry: rows per table, triggers, extensions, constraints (deferred
    ones told apart), functions and where each sequence stands."""
    with psycopg.connect(conninfo) as db:
        facts = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}
        facts["triggers"] = db.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                                       "WHERE NOT tgisinternal ORDER BY 1, 2").fetchall()
        facts["extensions"] = db.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
        facts["constraints"] = db.execute(
            "SELECT conrelid::regclass::text, conname, contype, condeferrable, condeferred FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2").fetchall()
        facts["functions"] = db.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                                        "ORDER BY 1").fetchall()
        facts["sequences"] = db.execute("SELECT sequencename, last_value FROM pg_sequences "
                                        "WHERE schemaname = 'public' ORDER BY 1").fetchall()
        facts["tasks"] = db.execute("SELECT id, status FROM tasks_generationtask ORDER BY id").fetchall()
    return facts


@pytest.fixture
def restored_database():
    """A new, empty database and a role of its own that owns it; both dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    name, owner = f"{connection.settings_dict['NAME']}_restored_{suffix}", f"pressroom_restore_{suffix}"
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{owner}" LOGIN')
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    try:
        yield name, owner
    finally:
        with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{owner}"')


def test_a_dump_of_a_database_in_use_restores_under_another_name_and_owner_and_runs_on(
        transactional_db, restored_database, tmp_path):
    populate()
    caught = GenerationTask.objects.get(topic="Running now")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    GenerationTask.objects.filter(pk=caught.pk).update(  # claimed, beat until the dump, deadline since passed
        attempts=1, heartbeat_at=an_hour_ago, started_at=an_hour_ago - timedelta(minutes=1),
        deadline_at=an_hour_ago + timedelta(minutes=9))
    waiting = set(GenerationTask.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).values_list("pk", flat=True))
    assert len(waiting) == 3
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "pressroom.dump"
    dumped = _run("pg_dump", *_server_args(), "--format=custom", "--file", str(dump), source)
    assert dumped.returncode == 0, dumped.stderr

    name, owner = restored_database
    restored = _run("pg_restore", *_server_args(), "--no-owner", "--role", owner, "--dbname", name, str(dump))
    assert (restored.returncode, restored.stderr) == (0, "")
    assert _facts(_conninfo(name)) == _facts(_conninfo(source))

    env = {"DATABASE_URL": _url(name, owner), "DJANGO_SETTINGS_MODULE": "tests.cluster_settings"}
    check = _run(sys.executable, "manage.py", "migrate", "--check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr

    # A new cluster on the restored database, with no job of the old one (a queue of its own).
    cluster = Cluster(tmp_path, workers=2, env={**env, "PRESSROOM_QUEUE_NAME": f"pressroom-restored-{uuid.uuid4().hex[:8]}"})
    try:
        with psycopg.connect(_conninfo(name)) as db:
            def all_completed() -> bool:
                rows = db.execute("SELECT id, status FROM tasks_generationtask WHERE id = ANY(%s)", [list(waiting)])
                db.commit()
                return {status for _, status in rows} == {Status.COMPLETED.value}

            wait_for(all_completed, timeout=90, interval=0.5, message=f"the restored tasks\n{cluster.output}")
            finished = db.execute(
                "SELECT task_id, count(*) FROM tasks_taskevent WHERE task_id = ANY(%s) AND kind = 'status' "
                "AND status = 'completed' GROUP BY 1", [list(waiting)]).fetchall()
            requeued = db.execute("SELECT error, attempts FROM tasks_generationtask WHERE id = %s", [caught.pk]).fetchone()
    finally:
        cluster.stop()
    assert sorted(count for _, count in finished) == [1, 1, 1], cluster.output  # each finished once
    assert requeued == ("", 2)  # requeued by the reconciler (not timed out), then run once more
