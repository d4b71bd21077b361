"""The plain django-q2 baseline: a job that does nothing, and the enqueuer of such jobs.

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.noop COUNT

enqueues COUNT `bench.noop.noop` jobs on the broker and queue the settings name (the cluster the
benchmark starts next reads the same settings), the way `tasks.services.queue.wake_workers`
enqueues the engine's wake-up jobs.
"""

from __future__ import annotations

import sys

NOOP = "bench.noop.noop"


def noop() -> None:
    return None


def enqueue_noops(count: int) -> None:
    from django_q.tasks import async_task

    for _ in range(count):
        async_task(NOOP, q_options={"task_name": "noop"})


if __name__ == "__main__":
    import django

    django.setup()
    enqueue_noops(int(sys.argv[1]))
