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

The `config` app comes before `django_q` in INSTALLED_APPS, so this command is the one
`manage.py qcluster` runs. Its options are django-q2's.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import CommandError
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

from tasks.cluster import ClusterDied, SignalSafeCluster
from tasks.jobs import keep_cluster_connections


class Command(DjangoQClusterCommand):
    def handle(self, *args, **options):
        settings.SECRET_KEY  # as django-q2's command: no cluster without a signing key
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]  # read by django-q2's Conf
        keep_cluster_connections()
        cluster = SignalSafeCluster()
        if options.get("run_once"):
            cluster.start()
            cluster.stop()
            return
        try:
            cluster.run_until_stopped()
        except ClusterDied as error:
            raise CommandError(str(error)) from error
