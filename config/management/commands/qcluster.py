"""`manage.py qcluster`: django-q2's command, with the cluster's database connections kept.

django-q2's ORM broker calls `close_old_connections()` before each use, and with the web's
`DATABASE_CONN_MAX_AGE` of 0 that closed the connection its last query opened: the pusher opened
a new PostgreSQL connection (a new server process) for every poll, five a second on an idle
cluster, and two for every job, and the monitor one for every acknowledgement. Before the cluster
forks them, this process keeps its connection for `PRESSROOM_WORKER_CONN_MAX_AGE` seconds
(`tasks.jobs.keep_cluster_connections`), as the workers do; Django checks a kept connection before
reusing it (`CONN_HEALTH_CHECKS`). The `config` app comes before `django_q` in INSTALLED_APPS,
so this command is the one `manage.py qcluster` runs.
"""

from __future__ import annotations

from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

from tasks.jobs import keep_cluster_connections


class Command(DjangoQClusterCommand):
    def handle(self, *args, **options):
        keep_cluster_connections()
        return super().handle(*args, **options)
