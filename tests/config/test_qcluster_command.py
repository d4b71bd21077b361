"""`manage.py qcluster` is django-q2's command with the cluster's database connections kept.

django-q2's ORM broker closes an expired connection before every poll and acknowledgement, and
with the web's DATABASE_CONN_MAX_AGE of 0 every connection is expired once used: an idle cluster
opened a new PostgreSQL connection five times a second. These pin that Pressroom's command is the
one `manage.py` runs and that a real cluster, idle on the ORM broker, opens none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.core.management import get_commands
from django.db import connection

from tests import processes
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
                          env={**os.environ, "DATABASE_URL": processes.test_database_url(),
                               "DJANGO_SETTINGS_MODULE": "tests.cluster_settings", **env},
                          capture_output=True, text=True, timeout=120)


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
