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
- Starting: it waits, up to PRESSROOM_WORKER_START_WAIT_SECONDS (120; 0 does not wait), for the
  database to answer and have every migration of this release, and for the Redis broker to
  answer, trying again after 1 s, then 2, 4, 8 and every 10 s, with one line on stderr per failed
  try saying what it waits for and why. A machine booting, or a deploy running `migrate` beside
  it, takes longer than a service manager's restarts allow (systemd gives up after 5 starts in
  10 s). Then it refuses, with the last try's one line and exit status 1: django-q2's own command
  either printed a traceback or ran a cluster that logged the same error twice a second and did
  nothing. A Redis that answers with an error (a database index it lacks) is refused at once.
  Nothing is forked before the services are ready.
- `--name` is refused: django-q2 reads the name before the command runs, so it changed nothing,
  and a cluster on another queue than PRESSROOM_QUEUE_NAME, where the web enqueues, would idle.

Exit status: 0 after a stop by SIGINT or SIGTERM (or `--run-once`), and after SIGTERM before the
cluster was started (a service manager stopping it while it waits: a clean stop, said in one
line); 1 with a one-line message when it refuses to start or the cluster's sentinel dies; 2 for an
unknown option; 130 after Ctrl-C (SIGINT) before the cluster was started (while it waits for the
database or the broker), "Interrupted." as every Pressroom command says it.

The `config` app comes before `django_q` in INSTALLED_APPS, so this command is the one
`manage.py qcluster` runs. Its options are django-q2's.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django_q.brokers import get_broker
from django_q.brokers.redis_broker import Redis as RedisBroker
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

from config.management.operator_errors import MIGRATE_HINT, OperatorErrorsMixin, database_command_error, first_line
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
        before = signal.signal(signal.SIGTERM, _stop_while_waiting)
        try:
            _wait_for_the_services(settings.PRESSROOM_WORKER_START_WAIT_SECONDS, say=self.stderr.write)
            keep_cluster_connections()
            cluster = SignalSafeCluster()  # its own SIGINT and SIGTERM handlers from here on
        except StopRequested:
            signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)
            self.stderr.write("Stopped by SIGTERM before the cluster started.")
            return
        except BaseException:
            signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)
            raise
        try:
            if options.get("run_once"):
                cluster.start()
                cluster.stop()
                return
            cluster.run_until_stopped()
        except ClusterDied as error:
            raise CommandError(str(error)) from error


FIRST_RETRY_SECONDS = 1
LAST_RETRY_SECONDS = 10  # the longest pause between two tries, however long the wait


class ServiceNotReady(Exception):
    """The database or the broker is not ready yet: `waiting` says which and why (the line while
    it is waited for), `refusal` what the command refuses with once the wait is over."""

    def __init__(self, *, waiting: str, refusal: str):
        super().__init__(refusal)
        self.waiting = waiting
        self.refusal = refusal


class StopRequested(BaseException):
    """SIGTERM before the cluster started. A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` of a database or Redis client it interrupts takes it for an error of its own."""


def _stop_while_waiting(signum, frame) -> None:
    # Raised at once, out of a sleep or a connection attempt: nothing was started that must stop.
    raise StopRequested()


def _wait_for_the_services(wait_seconds: int, *, say: Callable[[str], object]) -> None:
    """Return once the database is ready and the Redis broker answers; until then, say why on each
    failed try and try again, after 1 s doubling to at most 10 s. Raise CommandError with the last
    try's refusal when `wait_seconds` have passed (at once for 0)."""
    deadline = time.monotonic() + wait_seconds
    pause = FIRST_RETRY_SECONDS
    while True:
        try:
            _check_the_database()
            _check_the_broker()
            return
        except ServiceNotReady as not_ready:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandError(not_ready.refusal) from not_ready.__cause__
            sleep = min(pause, left)
            say(f"Waiting for {not_ready.waiting}; trying again in {math.ceil(sleep)} s "
                f"(giving up in {math.ceil(left)} s).")
            time.sleep(sleep)
            pause = min(pause * 2, LAST_RETRY_SECONDS)


def _check_the_database() -> None:
    """Raise ServiceNotReady unless the database answers and has every migration of this release.
    Then close the connection: the cluster's processes are forked from this one, and must not
    share its socket."""
    try:
        executor = MigrationExecutor(connections["default"])
        missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except (OperationalError, InterfaceError) as error:
        # Down, still starting, not created yet, or refusing the login (its role may come later).
        raise ServiceNotReady(waiting=f"the database, which could not be used: {first_line(error)}",
                              refusal=str(database_command_error(error))) from error
    finally:
        connections.close_all()
    if missing:
        first, _ = missing[0]
        missing_ones = f"{len(missing)} migration(s) of this release (the first: {first.app_label}.{first.name})"
        raise ServiceNotReady(waiting=f"the database, which lacks {missing_ones}: run `python manage.py migrate`",
                              refusal=f"The database lacks {missing_ones}: {MIGRATE_HINT}.")


def _check_the_broker() -> None:
    """Raise ServiceNotReady unless the Redis broker answers (the ORM broker is the database,
    checked already), CommandError at once when it answers with an error (a database index it
    lacks, a refused command): no wait mends that. The sentinel opens a broker of its own."""
    broker = get_broker()
    if not isinstance(broker, RedisBroker):
        return
    try:
        broker.connection.ping()  # not the broker's ping(), which logs a line of its own first
    except (redis.ConnectionError, redis.TimeoutError) as error:  # also Redis loading its data at start
        raise ServiceNotReady(waiting=f"the task broker (Redis, REDIS_URL), which could not be reached: "
                                      f"{first_line(error)}",
                              refusal=f"The task broker (Redis, REDIS_URL) could not be used: {error}") from error
    except redis.RedisError as error:
        raise CommandError(f"The task broker (Redis, REDIS_URL) could not be used: {error}") from error
    finally:
        broker.connection.close()
