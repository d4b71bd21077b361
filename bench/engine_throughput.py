"""Engine throughput benchmark: enqueue rate, engine throughput and overhead over plain django-q2.

    python bench/engine_throughput.py [--tasks 1000] [--workers 2] [--broker orm|redis|both] [--write-docs]
    make bench                         # the same through the embedded PostgreSQL, with --write-docs

For each broker, in one run on one machine, against a database of its own (`pressroom_bench` on
the server DATABASE_URL names, created and migrated here; its task tables are emptied between
phases):

1. **Enqueue.** The production web server serves the app (settings `bench.settings`: five stages
   that do nothing): Gunicorn with the command line, worker count (PRESSROOM_WEB_WORKERS, default
   2 × cores + 1 sync workers) and DATABASE_CONN_MAX_AGE (60) of `make serve`. N tasks are POSTed
   to /api/tasks by 16 concurrent clients with a JWT, no cluster running. Reports requests/s and
   latency, and checks N responses were 201, N tasks exist and N wake-up jobs wait in the queue.
2. **Engine.** One `manage.py qcluster` with `--workers` workers runs those N tasks. Wall time is
   from the first task's `started_at` to the last `finished_at` (and from the cluster's launch);
   worker RSS is sampled every 0.2 s.
3. **Plain django-q2.** N no-op jobs are enqueued with `async_task` (no cluster running), then the
   same cluster configuration runs them. Wall time is from the first job's `stopped` to the last:
   django-q2 stamps `started` when a job is *enqueued*, so it would count the time spent waiting
   for the cluster; a no-op's own run time is negligible.
4. **Overhead** per task = (engine wall − plain wall) × workers / N: with W workers busy in
   parallel, a wall time T for N tasks means each took T × W / N of a worker's time, so the
   difference is the engine's extra worker time per task (its claim, checkpoints, events,
   heartbeat and broadcasts), beyond what django-q2 itself costs per job.
5. **Worker time ratio** (the issue's target, ≤ 1.5): engine worker time per task (engine wall ×
   workers / N) ÷ plain django-q2 worker time per job (plain wall × workers / N), per broker, and
   beside it the worker processes' CPU time per task and per job (sampled with the memory), which
   leaves out waiting: on the ORM broker plain django-q2 is bound by the broker, not its workers.

Every wait has a timeout, every process runs in its own process group and is stopped on success,
failure, Ctrl-C or SIGTERM. Logs of the processes go to a temporary folder, kept on failure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.engine_report import MARKER, BrokerResults, notes_for, report_markdown, results_table  # noqa: E402
from bench.harness import (  # noqa: E402
    UNTHROTTLED_API,
    BASE_DIR,
    add_database_argument,
    benchmark_database_url,
    database_description,
    delete_redis_keys,
    ensure_editor,
    log,
    migrate,
    production_environment,
    redis_version,
    reset_tables,
    run_guarded,
    server_version,
    stop_all,
)
from bench.noop import DURABLE_FLOOR  # noqa: E402
from bench.phases import BENCH_USER, measure_enqueue, measure_engine, measure_plain  # noqa: E402
from bench.report import DOCS_PAGE, command_line, machine_description, write_docs_section  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"


# --- setup ------------------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="N: tasks (and no-op jobs) per phase")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the cluster")
    parser.add_argument("--broker", choices=["orm", "redis", "both"], default=None,
                        help="default: both when REDIS_URL is set or Redis answers on 127.0.0.1:6379, else orm")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients submitting tasks")
    add_database_argument(parser, "pressroom_bench")
    parser.add_argument("--redis-url", default=None, help=f"default: REDIS_URL, else {DEFAULT_REDIS_URL}")
    parser.add_argument("--timeout", type=float, default=300, help="seconds any single wait may take")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the results section of {DOCS_PAGE}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs even on success")
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.workers < 1 or args.clients < 1:
        parser.error("--tasks, --workers and --clients must be positive")
    return args


def prepare_database(url: str, env: dict, *, log_dir: Path, timeout: float) -> None:
    migrate(url, env, log_dir=log_dir, timeout=timeout)
    ensure_editor(BENCH_USER, env, log_dir=log_dir, timeout=timeout, password_variable="PRESSROOM_BENCH_PASSWORD")


def base_environment(*, database_url: str, args: argparse.Namespace, password: str) -> dict:
    return production_environment(
        database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        **UNTHROTTLED_API,
        PRESSROOM_WORKERS=str(args.workers),
        PRESSROOM_BENCH_SAVE_LIMIT=str(args.tasks + 1000),
        PRESSROOM_BENCH_PASSWORD=password,
    )


# --- one broker, end to end ------------------------------------------------------------------

def run_broker(broker: str, args, *, env: dict, database_url: str, redis_url: str, run_id: str,
               password: str, log_dir: Path) -> BrokerResults:
    queue = f"bench-{run_id}-{broker}"
    env = {**env, "PRESSROOM_QUEUE_NAME": queue, "PRESSROOM_BENCH_CACHE_PREFIX": f"bench-{run_id}"}
    if broker == "redis":
        env["REDIS_URL"] = redis_url
    results = BrokerResults(broker=broker, workers=args.workers)
    log(f"=== {broker} broker (queue {queue}) ===")
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
            reset_tables(database_url)
            results.enqueue = measure_enqueue(env, db, args, password=password, log_dir=log_dir)
            log(f"Enqueue: {results.enqueue.per_second:.1f} requests/s")
            results.engine = measure_engine(env, db, args, broker=broker, log_dir=log_dir)
            log(f"Engine: {results.engine.per_second:.1f} tasks/s")
            # The engine's leftover wake-up jobs go with the reset; the baseline has a queue of its own.
            reset_tables(database_url)
            plain_env = {**env, "PRESSROOM_QUEUE_NAME": f"{queue}-plain"}
            results.plain = measure_plain(plain_env, db, args, broker=broker, log_dir=log_dir)
            log(f"Plain django-q2: {results.plain.per_second:.1f} tasks/s")
            reset_tables(database_url)
            floor_env = {**env, "PRESSROOM_QUEUE_NAME": f"{queue}-floor"}
            results.floor = measure_plain(floor_env, db, args, broker=broker, log_dir=log_dir, func=DURABLE_FLOOR)
            log(f"Durable floor: {results.floor.per_second:.1f} jobs/s")
            reset_tables(database_url)
    finally:
        stop_all()
        if broker == "redis":
            delete_redis_keys(redis_url, [f"django_q:{queue}*", f"bench-{run_id}*"])
    return results


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    database_url = benchmark_database_url(args.database_name)
    redis_url = args.redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    redis = redis_version(redis_url)
    broker = args.broker or ("both" if os.environ.get("REDIS_URL") or redis else "orm")
    brokers = ["orm", "redis"] if broker == "both" else [broker]
    if "redis" in brokers and not redis:
        print(f"No Redis answers at {redis_url}.", file=sys.stderr)
        return 2

    run_id = secrets.token_hex(4)
    password = secrets.token_urlsafe(24)
    env = base_environment(database_url=database_url, args=args, password=password)

    def run(log_dir: Path) -> list[BrokerResults]:
        prepare_database(database_url, env, log_dir=log_dir, timeout=args.timeout)
        return [run_broker(name, args, env=env, database_url=database_url, redis_url=redis_url, run_id=run_id,
                           password=password, log_dir=log_dir) for name in brokers]

    results = run_guarded(run, log_prefix="pressroom-bench-", keep_logs=args.keep_logs)
    if results is None:
        return 1

    print(results_table(results))
    if args.write_docs:
        machine = machine_description(postgres=server_version(database_url),
                                      redis=redis if "redis" in brokers else None, brokers=brokers)
        machine.append(database_description(database_url))
        machine.append(f"N = {args.tasks} tasks, {args.workers} workers, {args.clients} HTTP clients, "
                       "five no-op stages per task (`bench/stages.py`)")
        body = report_markdown(results=results, machine=machine, notes=notes_for(results),
                               command=command_line("engine_throughput.py", argv, make_target="bench"))
        write_docs_section(DOCS_PAGE, body, marker=MARKER)
        log(f"Wrote the results to {DOCS_PAGE.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
