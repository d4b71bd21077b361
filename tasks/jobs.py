"""django-q2 jobs: thin entry points that call the engine's services.

`run_next_task` is a wake-up call: it claims the best due task and runs it. Each queued task gets
one wake-up, and the reconciler adds wake-ups for due tasks that have none waiting, so a lost
wake-up never strands a task. One task per job keeps a stopping cluster from claiming new work. `reconcile` is the periodic
recovery pass. A worker process also reconciles when it starts (`on_worker_spawn`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection

from tasks.engine.runner import WAIT_IN_JOB_MAX_SECONDS, run_claimed_task
from tasks.services.queue import claim_next_task
from tasks.services.reconcile import reconcile_tasks

logger = logging.getLogger(__name__)

MAX_TASKS_PER_JOB = 1


def worker_id() -> str:
    """Unique per claim: host, process and a random part, so an old run can never pass for a new one."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_next_task(not_before: str | None = None) -> int:
    """Claim and run the next due task (at most MAX_TASKS_PER_JOB); returns how many ran.

    `not_before` (a backed-off task's `available_at`, on the database's clock) is waited for, at
    most WAIT_IN_JOB_MAX_SECONDS, by the database's time the reconciler's first statement read:
    by this machine's clock, one ahead claimed before the task was due and found nothing, and the
    task waited for the reconciler's next pass; one behind waited its longest."""
    report = reconcile_tasks(pending_wakeups=10**9)  # recover vanished runs; no extra wake-ups from here
    if not_before:
        wait = (datetime.fromisoformat(not_before) - report.checked_at).total_seconds()
        time.sleep(min(max(0.0, wait), WAIT_IN_JOB_MAX_SECONDS))
    ran = 0
    while ran < MAX_TASKS_PER_JOB:
        worker = worker_id()
        task = claim_next_task(worker=worker)
        if task is None:
            break
        run_claimed_task(task.pk, worker=worker, claimed=task)
        ran += 1
    return ran


def reconcile() -> dict:
    report = reconcile_tasks()
    return {
        "requeued": len(report.requeued), "failed": len(report.failed), "timed_out": len(report.timed_out),
        "cancelled": len(report.cancelled), "wakeups": report.wakeups,
    }


def keep_cluster_connections() -> None:
    """Keep this process's database connection between jobs and polls for
    PRESSROOM_WORKER_CONN_MAX_AGE seconds (health-checked before reuse), not the web's
    DATABASE_CONN_MAX_AGE (0 by default): django-q2 closes a connection that may not outlive its
    use after every job, and its ORM broker before every poll and acknowledgement. This process
    only, and those forked from it: `manage.py qcluster` calls it before the cluster forks its
    pusher, monitor and workers (`config/management/commands/qcluster.py`), and every worker again
    when it starts."""
    connection.settings_dict["CONN_MAX_AGE"] = settings.PRESSROOM_WORKER_CONN_MAX_AGE


def on_worker_spawn(sender=None, proc_name=None, **kwargs) -> None:
    """A worker process started (cluster start or a replacement): keep its database connection
    between jobs (`keep_cluster_connections`) and recover what was lost."""
    keep_cluster_connections()
    try:
        close_old_connections()
        reconcile()
    except Exception:
        logger.warning("Reconcile at worker start failed; the schedule will retry", exc_info=True)
    finally:
        connection.close()
