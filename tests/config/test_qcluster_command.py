"""`manage.py qcluster` is django-q2's command with the cluster's database connections kept, and
a start that waits for its services.

django-q2's ORM broker closes an expired connection before every poll and acknowledgement, and
with the web's DATABASE_CONN_MAX_AGE of 0 every connection is expired once used: an idle cluster
opened a new PostgreSQL connection five times a second. These pin that Pressroom's command is the
one `manage.py` runs and that a real cluster, idle on the ORM broker, opens none; and that it
waits PRESSROOM_WORKER_START_WAIT_SECONDS for a database or broker that is not up yet, where it
used to exit at once and leave the retries to a service manager that gives up after five.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from django.core.management import get_commands
from django.db import connection

from tests import processes
from tests.config.test_operator_errors import _ctrl_c_as_in_a_terminal
from tests.config.test_settings import _manage
from tests.processes import Cluster, wait_for


def test_manage_py_qcluster_is_pressrooms_command():
    assert get_commands()["qcluster"] == "config"


def test_the_cluster_keeps_its_connections_for_the_workers_max_age(settings):
    from tasks.jobs import keep_cluster_connections

    settings.PRESSROOM_WORKER_CONN_MAX_AGE = 45
    kept = connection.settings_dict["CONN_MAX_AGE"]
    try:
        keep_cluster_connections()
        assert connection.settings_dict["CONN_MAX_AGE"] == 45
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = kept


def sessions_established() -> int:
    """PostgreSQL's count of the sessions ever opened to this database (pg_stat_database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_idle_cluster_on_the_orm_broker_opens_no_connection_per_poll(tmp_path):
    cluster = Cluster(tmp_path, workers=2, env={"REDIS_URL": "", "DATABASE_CONN_MAX_AGE": "0"})
    try:
        wait_for(lambda: cluster.output.count("ready for work") >= 2, timeout=60,
                 message=f"the cluster's workers to start\n{cluster.output[-3000:]}")
        time.sleep(2)  # the workers' reconcile at start, and the sessions' counts reaching the statistics
        before = sessions_established()
        time.sleep(4)  # the pusher polls the ORM broker every 0.2 s: twenty polls
        opened = sessions_established() - before
        assert cluster.running(), cluster.output[-3000:]
    finally:
        cluster.stop()
    assert opened <= 1, f"{opened} sessions opened in 4 s by an idle cluster"


def _qcluster(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "qcluster", "--run-once", *args], cwd=processes.BASE_DIR,
                          env=_environment(**env), capture_output=True, text=True, timeout=120)


def _environment(**env: str) -> dict:
    return {**os.environ, "DATABASE_URL": processes.test_database_url(), "DJANGO_SETTINGS_MODULE": "tests.cluster_settings",
            "PRESSROOM_WORKER_START_WAIT_SECONDS": "0", **env}


def _unreachable_database_url() -> str:
    url = processes.test_database_url()
    return url.replace(url.split("@", 1)[1].split("/", 1)[0], "127.0.0.1:1", 1)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["other-queue", ""])
def test_the_name_option_is_refused_not_silently_ignored(name):
    """django-q2 reads the cluster's name when it is imported, before the command ran: `--name`
    changed nothing, and a cluster that took it would wait on a queue nobody enqueues to."""
    result = _qcluster("--name", name)

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("CommandError: --name is not supported"), result.stderr
    assert "PRESSROOM_QUEUE_NAME" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "starting" not in result.stdout + result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "redis://127.0.0.1:6379/99"])
def test_an_unusable_redis_broker_is_one_line_before_anything_starts(url):
    """Before, the sentinel died on its first ping: its traceback, then the command's RuntimeError."""
    result = _qcluster(REDIS_URL=url)

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("CommandError: The task broker (Redis, REDIS_URL) could not be used: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


DATABASE_WAIT_LINE = "Waiting for the database, which could not be used: connection failed: "


@pytest.mark.parametrize("raw", ["-1", "3601"])
def test_a_start_wait_outside_0_to_3600_stops_every_command_naming_it(raw):
    result = _manage("check", PRESSROOM_WORKER_START_WAIT_SECONDS=raw)

    assert result.returncode == 1
    assert result.stderr == ("django.core.exceptions.ImproperlyConfigured: PRESSROOM_WORKER_START_WAIT_SECONDS must be "
                             f"between 0 and 3600, got {raw}.\n")


@pytest.mark.django_db
def test_with_no_wait_an_unreachable_database_is_refused_at_once_in_one_line():
    result = _qcluster(DATABASE_URL=_unreachable_database_url(), PRESSROOM_WORKER_START_WAIT_SECONDS="0")

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("CommandError: The database could not be used: connection failed: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.django_db
def test_an_unreachable_database_is_waited_for_then_refused_with_the_one_line():
    """Before, it refused at once, and a service manager's five restarts in ten seconds were over
    before a booting machine's database was up."""
    result = _qcluster(DATABASE_URL=_unreachable_database_url(), PRESSROOM_WORKER_START_WAIT_SECONDS="2")

    assert result.returncode == 1, result.stderr
    *waiting, refusal = result.stderr.strip().splitlines()
    assert waiting and all(line.startswith(DATABASE_WAIT_LINE) and "port 1 failed" in line for line in waiting), waiting
    assert all(line.endswith(" s).") and "; trying again in " in line for line in waiting), waiting
    assert refusal.startswith("CommandError: The database could not be used: connection failed: ") and "port 1" in refusal
    assert "Traceback" not in result.stderr and "starting" not in result.stdout + result.stderr


@pytest.mark.django_db
def test_an_unreachable_redis_broker_is_waited_for_then_refused_with_the_one_line():
    result = _qcluster(REDIS_URL="redis://127.0.0.1:1/0", PRESSROOM_WORKER_START_WAIT_SECONDS="1")

    assert result.returncode == 1, result.stderr
    *waiting, refusal = result.stderr.strip().splitlines()
    assert waiting and all(line.startswith("Waiting for the task broker (Redis, REDIS_URL), which could not be "
                                           "reached: ") for line in waiting), waiting
    assert refusal.startswith("CommandError: The task broker (Redis, REDIS_URL) could not be used: ")


@pytest.mark.django_db
def test_a_redis_that_answers_with_an_error_is_refused_without_waiting():
    """Its database index out of range: no wait mends a wrong REDIS_URL."""
    result = _qcluster(REDIS_URL="redis://127.0.0.1:6379/99", PRESSROOM_WORKER_START_WAIT_SECONDS="3600")

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("CommandError: The task broker (Redis, REDIS_URL) could not be used: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _waiting_qcluster(tmp_path) -> tuple[subprocess.Popen, object]:
    """qcluster waiting up to an hour for a database on a port nothing listens on, output in a log."""
    log = tmp_path / f"qcluster-{time.monotonic_ns()}.log"
    waiting = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=processes.BASE_DIR,
                               env=_environment(DATABASE_URL=_unreachable_database_url(),
                                                PRESSROOM_WORKER_START_WAIT_SECONDS="3600"),
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=_ctrl_c_as_in_a_terminal)
    wait_for(lambda: DATABASE_WAIT_LINE in log.read_text(), timeout=60,
             message=f"qcluster to wait for the database\n{log.read_text() if log.exists() else ''}")
    return waiting, log


@pytest.mark.django_db
@pytest.mark.parametrize(("signum", "status", "last_line"), [
    (signal.SIGTERM, 0, "Stopped by SIGTERM before the cluster started."),  # a service manager's stop: clean
    (signal.SIGINT, 130, "Interrupted."),  # Ctrl-C, as during the check before, and as every command says it
])
def test_a_signal_while_waiting_stops_it_at_once(tmp_path, signum, status, last_line):
    waiting, log = _waiting_qcluster(tmp_path)
    try:
        waiting.send_signal(signum)
        waiting.wait(timeout=60)  # not the hour it would wait for the database
    finally:
        if waiting.poll() is None:
            os.killpg(waiting.pid, signal.SIGKILL)
            waiting.wait()

    output = log.read_text()
    assert waiting.returncode == status, output
    assert output.strip().splitlines()[-1] == last_line, output
    assert "Traceback" not in output and "starting" not in output


@pytest.fixture
def late_database(django_db_setup, django_db_blocker):
    """The URL of a database not created yet, next to the test database, and a function that
    creates it; dropped afterwards."""
    with django_db_blocker.unblock():
        settings = connection.settings_dict
        name = f"pressroom_late_{uuid.uuid4().hex[:8]}"
        url = processes.test_database_url().rsplit("/", 1)[0] + f"/{name}"
    server = {"host": settings["HOST"] or None, "port": settings["PORT"] or None, "user": settings["USER"] or None,
              "password": settings["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}

    def create() -> None:
        with psycopg.connect(**server) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

    try:
        yield url, create
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_the_cluster_starts_once_a_database_created_and_migrated_meanwhile_is_ready(tmp_path, late_database):
    """A deploy's order: the worker starts while its database is created and migrated beside it."""
    url, create = late_database
    cluster = Cluster(tmp_path, workers=1, env={"DATABASE_URL": url, "REDIS_URL": "",
                                                "PRESSROOM_WORKER_START_WAIT_SECONDS": "600"})
    try:
        wait_for(lambda: "does not exist; trying again in " in cluster.output, timeout=60,
                 message=f"qcluster to wait for a database that does not exist\n{cluster.output[-3000:]}")
        create()
        wait_for(lambda: "Waiting for the database, which lacks " in cluster.output, timeout=60,
                 message=f"qcluster to wait for the migrations\n{cluster.output[-3000:]}")
        assert "run `python manage.py migrate`; trying again in " in cluster.output
        assert "starting" not in cluster.output  # nothing started while it waited
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=processes.BASE_DIR,
                                 env=_environment(DATABASE_URL=url, REDIS_URL=""), capture_output=True, text=True,
                                 timeout=300)
        assert migrate.returncode == 0, migrate.stderr
        wait_for(lambda: "ready for work" in cluster.output, timeout=60,
                 message=f"the cluster to start once the database is ready\n{cluster.output[-3000:]}")
        assert cluster.running(), cluster.output[-3000:]
    finally:
        cluster.stop()
    assert cluster.process.returncode == 0, cluster.output[-3000:]
    assert "CommandError" not in cluster.output
