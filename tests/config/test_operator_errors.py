"""Pressroom's management commands meet an unusable database or a closed pipe with one line on
stderr and exit status 1, never a traceback (config/management/operator_errors.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.db import connection, transaction

from config.locks import DEMO_ACCOUNTS, advisory_xact_lock
from tests import processes

COMMANDS = [["queue_status"], ["queue_status", "--json"], ["create_demo_accounts"], ["qcluster", "--run-once"]]


def _manage(*args: str, database_url: str, stdout=subprocess.PIPE, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tests.settings", "DEBUG": "1",
           "PRESSROOM_WORKER_START_WAIT_SECONDS": "0", **extra_env}  # qcluster refuses at once, as the others
    env.pop("PYTHONUNBUFFERED", None)  # output buffered, as in a terminal's pipe: a closed pipe shows late
    return subprocess.run([sys.executable, "manage.py", *args], cwd=processes.BASE_DIR, env=env,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess, starting: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"CommandError: {starting}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.fixture(scope="module")
def unmigrated_database_url(django_db_setup, django_db_blocker) -> str:
    """The URL of an empty database next to the test database, dropped afterwards."""
    with django_db_blocker.unblock():
        settings = connection.settings_dict
    name = f"pressroom_unmigrated_{uuid.uuid4().hex[:8]}"
    server = {"host": settings["HOST"] or None, "port": settings["PORT"] or None, "user": settings["USER"] or None,
              "password": settings["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with django_db_blocker.unblock():
            yield processes.test_database_url().rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line_naming_it(command):
    url = processes.test_database_url()
    host_and_port = url.split("@", 1)[1].split("/", 1)[0]
    unreachable = url.replace(host_and_port, "127.0.0.1:1", 1)

    result = _manage(*command, database_url=unreachable)

    _one_line_error(result, "The database could not be used: connection failed")
    assert "port 1 failed" in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unmigrated_database_is_one_line_saying_to_migrate(command, unmigrated_database_url):
    result = _manage(*command, database_url=unmigrated_database_url)

    # The cluster counts the migrations it lacks before it starts; the others meet a missing table.
    _one_line_error(result, "The database lacks ")
    assert result.stderr.strip().endswith("run `python manage.py migrate` first.")


@pytest.mark.django_db
@pytest.mark.parametrize("command", [["queue_status"], ["queue_status", "--json"]], ids=" ".join)
def test_output_into_a_closed_pipe_ends_quietly_with_status_1(command):
    """As `queue_status | head -1` once head has read its line: Python's BrokenPipeError traceback,
    and its 'Exception ignored' complaint at exit, printed nothing the operator needs."""
    reader_gone = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    reader_gone.wait()
    try:
        result = _manage(*command, database_url=processes.test_database_url(), stdout=reader_gone.stdin)
    finally:
        reader_gone.stdin.close()

    assert result.returncode == 1
    assert result.stderr == ""


@pytest.mark.django_db
def test_a_read_only_database_is_one_line_naming_it():
    """DATABASE_URL pointing at a replica: the demo accounts cannot be written."""
    result = _manage("create_demo_accounts", "--reset", database_url=processes.test_database_url(),
                     PGOPTIONS="-c default_transaction_read_only=on")

    _one_line_error(result, "The database refuses to be written (cannot execute ")
    assert "read-only server (a replica?)" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_while_waiting_for_another_run_is_one_word_and_status_130():
    """The second of two create_demo_accounts runs waits for the first; Ctrl-C there printed a
    KeyboardInterrupt traceback."""
    env = {**os.environ, "DATABASE_URL": processes.test_database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DEBUG": "1"}
    with transaction.atomic():
        advisory_xact_lock(DEMO_ACCOUNTS)  # another run, holding the accounts
        waiting = subprocess.Popen([sys.executable, "manage.py", "create_demo_accounts"], cwd=processes.BASE_DIR,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=_ctrl_c_as_in_a_terminal)
        try:
            processes.wait_for(_waits_for_an_advisory_lock, timeout=60,
                               message="create_demo_accounts to wait for the lock")
            waiting.send_signal(signal.SIGINT)
            out, err = waiting.communicate(timeout=60)
        finally:
            if waiting.poll() is None:
                waiting.kill()

    assert waiting.returncode == 130, err
    assert err == "Interrupted.\n"


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT at its default in the command, as a terminal's foreground command has it. A test run
    started in the background (`.ci/run &`) has SIGINT ignored, and a child inherits that: Python
    then installs no KeyboardInterrupt handler, and Ctrl-C did nothing (the test waited 60 s)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _waits_for_an_advisory_lock() -> bool:
    """Whether a session waits for the demo accounts' lock in this database. pg_locks lists the
    whole server's: counting any advisory lock not granted saw the race tests of another test
    process, and sent Ctrl-C before the command waited (it then waited for good)."""
    with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
        row = other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s "
            "AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [DEMO_ACCOUNTS % 2**32]).fetchone()
    return row[0] > 0


@pytest.mark.django_db
def test_djangos_own_commands_meet_an_unreachable_database_with_one_line_too():
    """`make run` runs `migrate` first: with the database down it printed Django's traceback."""
    url = processes.test_database_url()
    unreachable = url.replace(url.split("@", 1)[1].split("/", 1)[0], "127.0.0.1:1", 1)

    result = _manage("migrate", "--noinput", database_url=unreachable)

    _one_line_error(result, "The database could not be used: ")


@pytest.mark.django_db
def test_make_runs_script_stops_in_one_line_when_migrate_fails():
    url = processes.test_database_url()
    unreachable = url.replace(url.split("@", 1)[1].split("/", 1)[0], "127.0.0.1:1", 1)
    env = {**os.environ, "DATABASE_URL": unreachable, "DEBUG": "1", "PORT": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    result = subprocess.run([sys.executable, "scripts/serve.py"], cwd=processes.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    said, stopped = result.stderr.strip().splitlines()
    assert said.startswith("CommandError: The database could not be used: ") and "port 1" in said
    assert stopped == "serve: `manage.py migrate` failed (exit status 1); nothing was started."
