"""`manage.py qcluster`: django-q2's command, with the cluster's database connections kept and a
stop that cannot deadlock.

- Connections: django-q2's ORM broker calls `close_old_connections()` before each use, and with
  the web's `DATABASE_CONN_MAX_AGE` of 0 that closed the connection its last query opened: the
  pusher opened a new PostgreSQL connection (a new server process) for every poll, five a second
  on an idle cluster, and two for every job, and the monitor one for every acknowledgement. Before
  the cluster forks them, this process keeps its connection for `PRESSROOM_WORKER_CONN_MAX_AGE`
  seconds (`tasks.jobs.keep_cluster_connections`), as the workers do; Django checks a kept
  connection before reusing it (`CONN_HEALTH_CHECKS`).
- Stopping: django-q2's own cluster stops from inside its signal handler and can hang there for
  good when a second signal follows the first (Ctrl-C, then `make run`'s SIGTERM). This command
  runs `tasks.cluster.SignalSafeCluster`, which stops from its main loop instead.
- Starting: it refuses, with one line on stderr and exit status 1, when the database cannot be
  reached or lacks a migration of this release (run `migrate` first), or the Redis broker cannot
  be reached: django-q2's own command then either printed a traceback or ran a cluster that
  logged the same error twice a second and did nothing. A service manager restarts it.
- `--name` is refused: django-q2 reads the name before the command runs, so it changed nothing,
  and a cluster on another queue than PRESSROOM_QUEUE_NAME, where the web enqueues, would idle.

Exit status: 0 after a stop by SIGINT or SIGTERM (or `--run-once`); 1 with a one-line message
when it refuses to start or the cluster's sentinel dies; 2 for an unknown option; 130 after Ctrl-C
before the cluster was started (while the database is checked).

The `config` app comes before `django_q` in INSTALLED_APPS, so this command is the one
`manage.py qcluster` runs. Its options are django-q2's.
"""

from __future__ import annotations

import redis
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django_q.brokers import get_broker
from django_q.brokers.redis_broker import Redis as RedisBroker
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

from config.management.operator_errors import MIGRATE_HINT, OperatorErrorsMixin
from tasks.cluster import ClusterDied, SignalSafeCluster
from tasks.jobs import keep_cluster_connections


class Command(OperatorErrorsMixin, DjangoQClusterCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        for action in parser._actions:
            if action.dest == "cluster_name":
                action.help = "Refused: the queue's name is PRESSROOM_QUEUE_NAME, the one the web enqueues to."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # as django-q2's command: no cluster without a signing key
        if options.get("cluster_name") is not None:
            raise CommandError("--name is not supported: the cluster takes its queue's name from "
                               "PRESSROOM_QUEUE_NAME, the queue the web processes enqueue to.")
        _refuse_an_unready_database()
        keep_cluster_connections()
        _refuse_an_unreachable_broker()
        cluster = SignalSafeCluster()
        try:
            if options.get("run_once"):
                cluster.start()
                cluster.stop()
                return
            cluster.run_until_stopped()
        except ClusterDied as error:
            raise CommandError(str(error)) from error


def _refuse_an_unready_database() -> None:
    """Raise CommandError unless the database answers and has every migration of this release.
    Then close the connection: the cluster's processes are forked from this one, and must not
    share its socket."""
    try:
        executor = MigrationExecutor(connections["default"])
        missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connections.close_all()
    if missing:
        first, _ = missing[0]
        raise CommandError(f"The database lacks {len(missing)} migration(s) of this release (the first: "
                           f"{first.app_label}.{first.name}): {MIGRATE_HINT}.")


def _refuse_an_unreachable_broker() -> None:
    """Raise CommandError unless the Redis broker answers (the ORM broker is the database, checked
    already). The sentinel opens a broker of its own."""
    broker = get_broker()
    if not isinstance(broker, RedisBroker):
        return
    try:
        broker.connection.ping()  # not the broker's ping(), which logs a line of its own first
    except redis.RedisError as error:
        raise CommandError(f"The task broker (Redis, REDIS_URL) could not be used: {error}") from error
    finally:
        broker.connection.close()
