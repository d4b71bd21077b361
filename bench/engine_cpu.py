"""CPU per engine task in this process: N trivial five-stage tasks run by the worker's own job.

The engine benchmark (`bench/engine_throughput.py`) measures worker time per task in a cluster;
this script says where a worker's CPU goes, in one process, without django-q2 around it. N tasks
are queued through `task_create` (as `bench.queue_tasks` does), then run one after another by
`tasks.jobs.run_next_task`, the function every wake-up job calls (its reconciler check, the claim,
five no-op stages of `bench.stages`, the events, their broadcasts and the state-change receivers).
Production settings as the benchmark's workers have them (`bench.settings`, DEBUG=0, the kept
connection), except that log records below WARNING are dropped (the worker's INFO lines, one per
transition, are not what is measured here). It reports, per task after a warm-up:

- the whole process's CPU (`time.process_time()`: every thread, the broadcaster's and the
  watchdog's included),
- the main thread's CPU (`time.thread_time()`: the job itself),
- wall time,
- PostgreSQL's CPU (user + system time of every server process on this machine, read as
  `bench/create_throughput.py` reads it: the backends of this process's connections, the WAL
  writer and the rest), so run it on a quiet machine.

`--without-broadcasts` replaces `tasks.events.broadcast` with a function that drops the events,
to measure what sending them costs (nothing else changes: the events are still written); it is an
analysis switch, never a setting. `--profile FILE` writes a cProfile dump (CPU clock) of the
measured tasks' main thread.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/pressroom_create \
        .venv/bin/python bench/engine_cpu.py --tasks 300 [--redis-url redis://127.0.0.1:6379/13]

The database must be migrated (`manage.py migrate`). The tasks of the user `bench-queue` (this
script's and `bench.queue_tasks`') are deleted before and after the run, and the run's wake-up jobs
(on a queue of its own name) after it; its cache prefix is its own.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--redis-url", default=None, help="Redis as broker, cache and channel layer (default: PostgreSQL)")
    parser.add_argument("--without-broadcasts", action="store_true", help="drop the events' broadcasts (analysis)")
    parser.add_argument("--profile", default=None, help="write a cProfile dump of the measured tasks here")
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.warmup < 0:
        parser.error("--tasks must be at least 1 and --warmup at least 0")

    os.environ.pop("REDIS_URL", None)
    run = secrets.token_hex(4)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", DATABASE_CONN_MAX_AGE="60",
        PRESSROOM_QUEUE_NAME=f"engine-cpu-{run}", PRESSROOM_BENCH_CACHE_PREFIX=f"engine-cpu-{run}",
    )
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url

    import django

    django.setup()
    import logging

    from django_q.brokers import get_broker

    from bench.create_throughput import cpu_split
    from bench.queue_tasks import queue_tasks
    from tasks import events
    from tasks.broadcaster import broadcaster
    from tasks.jobs import run_next_task
    from tasks.models import GenerationTask

    logging.disable(logging.INFO)  # see the module's docstring
    if args.without_broadcasts:
        events.broadcast = lambda *payloads: None

    GenerationTask.objects.filter(created_by__username="bench-queue").delete()
    queue_tasks(args.warmup + args.tasks)
    try:
        for _ in range(args.warmup):
            run_next_task()
        broadcaster().flush()
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        by_process = Counter()
        with cpu_split(by_process):  # every process's CPU, PostgreSQL's servers apart
            started = time.process_time(), time.thread_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            ran = sum(run_next_task() for _ in range(args.tasks))
            if profiler:
                profiler.disable()
            broadcaster().flush()  # the broadcaster's sends of the last events count too
            process_cpu, thread_cpu, wall = (now - then for now, then in zip(
                (time.process_time(), time.thread_time(), time.perf_counter()), started))
        postgres_cpu = by_process["PostgreSQL"]
    finally:
        GenerationTask.objects.filter(created_by__username="bench-queue").delete()
        get_broker().delete_queue()  # the wake-up jobs, which nothing here takes off the queue
    if ran != args.tasks:
        raise SystemExit(f"{ran} of {args.tasks} tasks ran")
    layer = "redis" if args.redis_url else "postgresql"
    sends = "without broadcasts" if args.without_broadcasts else "with broadcasts"
    per_task = 1000 / args.tasks
    print(f"{layer} layer, {sends}: {args.tasks} tasks, {process_cpu * per_task:.2f} ms CPU/task "
          f"(main thread {thread_cpu * per_task:.2f}, other threads {(process_cpu - thread_cpu) * per_task:.2f}), "
          f"{wall * per_task:.2f} ms wall/task, PostgreSQL {postgres_cpu * per_task:.2f} ms CPU/task")
    if profiler:
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
