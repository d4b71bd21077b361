"""The plain django-q2 baselines: a job that does nothing, a job that only makes the commits a
durable five-stage task must make, and the enqueuer of such jobs.

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.noop COUNT [FUNC]

enqueues COUNT jobs of FUNC (default `bench.noop.noop`) on the broker and queue the settings name
(the cluster the benchmark starts next reads the same settings), the way
`tasks.services.queue.wake_workers` enqueues the engine's wake-up jobs.
"""

from __future__ import annotations

import sys

NOOP = "bench.noop.noop"
DURABLE_FLOOR = "bench.noop.durable_floor"
# What an engine task commits: its claim, its first stage, and each of its five stages' checkpoint.
FLOOR_COMMITS = 7
FLOOR_TABLE = "bench_durable_floor"
FLOOR_TABLE_SQL = f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, step integer NOT NULL)"


def noop() -> None:
    return None


def durable_floor() -> None:
    """The least a task engine that commits its claim and a checkpoint per stage can do: seven
    single-row INSERTs, each committing by itself (a WAL flush each), on the worker's kept
    connection, without the ORM, events, broadcasts or anything else."""
    from django.db import connection

    with connection.cursor() as cursor:
        for step in range(FLOOR_COMMITS):
            cursor.execute(f"INSERT INTO {FLOOR_TABLE} (step) VALUES (%s)", [step])


def enqueue_jobs(count: int, func: str = NOOP) -> None:
    from django_q.tasks import async_task

    name = func.rsplit(".", 1)[-1]
    for _ in range(count):
        async_task(func, q_options={"task_name": name})


if __name__ == "__main__":
    import django

    django.setup()
    enqueue_jobs(int(sys.argv[1]), *sys.argv[2:3])
