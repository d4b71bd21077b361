"""`POST /api/tasks` alone, long enough to be read: requests/s, and the CPU each create costs in
the Gunicorn workers, in PostgreSQL and in this client (user + system time, through psutil as the engine benchmark reads it).

The engine benchmark's first phase (Gunicorn as `make serve` runs it, 16 clients with a JWT after
the warm-up, every answer 201 and every task and wake-up job checked), without the cluster phases,
so that it can run for thousands of tasks. The CPU of every process is read (psutil) just
before and after the submission; its sum per create tells what 300 requests/s asks of the cores
(two saturated cores give 6.7 ms per create at 300/s).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/create_throughput.py --tasks 2500 [--broker redis --redis-url URL]
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
import psycopg  # noqa: E402

from bench import engine_throughput  # noqa: E402
from bench.harness import benchmark_database_url, delete_redis_keys, log, reset_tables, run_guarded, stop_all  # noqa: E402
from bench.phases import measure_enqueue  # noqa: E402

def process_cpu_seconds() -> dict[int, tuple[str, float]]:
    """Every process's (group, user + system CPU seconds): Gunicorn (the one this script started:
    its descendants only, so that another site's Gunicorn on the machine counts as other),
    PostgreSQL, this client, other."""
    started_here = {child.pid for child in psutil.Process().children(recursive=True)}
    seen = {}
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        command, times = " ".join(process.info["cmdline"] or []), process.info["cpu_times"]
        if times is None:  # ended meanwhile, or not ours to read
            continue
        if process.pid == os.getpid():
            group = "client (this script)"
        elif "gunicorn" in command and process.pid in started_here:
            group = "Gunicorn"
        elif command.startswith("postgres"):
            group = "PostgreSQL"
        else:
            group = "other"
        seen[process.pid] = (group, times.user + times.system)
    return seen


@contextlib.contextmanager
def cpu_split(into: Counter):
    before = process_cpu_seconds()
    yield
    after = process_cpu_seconds()
    for pid, (group, seconds) in after.items():
        into[group] += seconds - before.get(pid, (group, 0.0))[1]


def main(argv: list[str]) -> int:
    args = engine_throughput.parse_args(argv)
    broker = args.broker if args.broker in ("orm", "redis") else "orm"
    database_url = benchmark_database_url(args.database_name)
    password = secrets.token_urlsafe(24)
    run_id = secrets.token_hex(4)
    env = {**engine_throughput.base_environment(database_url=database_url, args=args, password=password),
           "PRESSROOM_QUEUE_NAME": f"bench-{run_id}-create", "PRESSROOM_BENCH_CACHE_PREFIX": f"bench-{run_id}"}
    if broker == "redis":
        env["REDIS_URL"] = args.redis_url or os.environ.get("REDIS_URL") or engine_throughput.DEFAULT_REDIS_URL
    cpu: Counter = Counter()

    def run(log_dir: Path):
        engine_throughput.prepare_database(database_url, env, log_dir=log_dir, timeout=args.timeout)
        try:
            with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
                reset_tables(database_url)
                result = measure_enqueue(env, db, args, password=password, log_dir=log_dir,
                                         around_submit=lambda: cpu_split(cpu))
                reset_tables(database_url)
                return result
        finally:
            stop_all()
            if broker == "redis":
                delete_redis_keys(env["REDIS_URL"], [f"django_q:{env['PRESSROOM_QUEUE_NAME']}*",
                                                                      f"bench-{run_id}*"])

    result = run_guarded(run, log_prefix="pressroom-bench-create-", keep_logs=args.keep_logs)
    if result is None:
        return 1
    per_create = {group: seconds / args.tasks * 1000 for group, seconds in cpu.items()}
    log(f"{broker} broker: {result.tasks} creates from {result.clients} clients in {result.seconds:.2f} s: "
        f"{result.per_second:.1f} requests/s, p50 / p95 {result.percentile_ms(50):.1f} / "
        f"{result.percentile_ms(95):.1f} ms, all 201, {result.tasks_in_database} tasks and "
        f"{result.wakeup_jobs} wake-up jobs stored")
    log("CPU per create: " + ", ".join(f"{group} {ms:.2f} ms" for group, ms in sorted(per_create.items()))
        + f"; {sum(per_create.values()):.2f} ms in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
