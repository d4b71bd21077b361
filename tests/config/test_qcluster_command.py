"""`manage.py qcluster` is django-q2's command with the cluster's database connections kept.

django-q2's ORM broker closes an expired connection before every poll and acknowledgement, and
with the web's DATABASE_CONN_MAX_AGE of 0 every connection is expired once used: an idle cluster
opened a new PostgreSQL connection five times a second. These pin that Pressroom's command is the
one `manage.py` runs and that a real cluster, idle on the ORM broker, opens none.
"""

from __future__ import annotations

import time

import pytest
from django.core.management import get_commands
from django.db import connection

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
