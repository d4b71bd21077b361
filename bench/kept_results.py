"""The engine on a site that has been up a while: django-q2's kept results at their limit.

    python bench/kept_results.py [--tasks 3000] [--window 10] [--workers 2] [--broker both] [--write-docs]
    make bench-kept                      # the same, with --write-docs

django-q2's monitor saves each job's result, and with a save limit (`Q_CLUSTER["save_limit"]`,
1000 in `config/settings.py`) it reads and locks every kept result to prune the oldest each time
it saves one. The engine benchmark starts from an empty results table with the limit raised (its
plain baseline counts its jobs by their results), so it never sees that cost; a site that has run
1,000 jobs pays it on every job from then on.

For each broker: a database of its own (`pressroom_bench_kept` on DATABASE_URL's server, created
and migrated here), with the production settings and the benchmark's five no-op stages
(`bench.settings`), the results table filled to the settings' save limit with results like a
wake-up job's, `--tasks` trivial tasks queued through the service (`python -m bench.queue_tasks`),
then one `manage.py qcluster` with `--workers` workers. Once 100 tasks have completed (the cluster
is up and warm), completed tasks are counted over `--window` seconds, with the CPU time the
cluster's monitor and its workers spent in that window (from `/proc`, via psutil). Every wait is
bounded and every process stopped afterwards; only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.harness import (  # noqa: E402
    BenchError, ManagedProcess, add_database_argument, benchmark_database_url, delete_redis_keys, log, migrate,
    production_environment, redis_version, reset_tables, run_checked, run_guarded, server_version, start_cluster,
    wait_until,
)
from bench.report import (  # noqa: E402
    DOCS_PAGE, command_line, machine_description, measured_at, report_body, write_docs_section,
)

MARKER = "kept-results-benchmark"
PREAMBLE = "## The engine with django-q2's results at their limit\n\n"

WARM_UP_TASKS = 100
RESULT_ROWS_SQL = """
INSERT INTO django_q_task (id, name, func, args, kwargs, result, started, stopped, success, attempt_count)
SELECT md5(n::text), 'kept-' || n, 'tasks.jobs.run_next_task', %s, %s, %s, now(), now(), true, 1
FROM generate_series(1, %s) AS n
"""
# A wake-up job's args (), kwargs {} and result 1, as django-q2's PickledObjectField stores them.
PICKLED_ARGS, PICKLED_KWARGS, PICKLED_RESULT = "gAQpLg==", "gAR9lC4=", "gARLAS4="
MONITOR = re.compile(r"monitoring at (\d+)")
WORKER = re.compile(r"ready for work at (\d+)")


@dataclass
class WindowResult:
    broker: str
    saved: int  # results the monitor saved during the run
    completed: int
    seconds: float
    monitor_cpu: float
    worker_cpu: float

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds

    def cpu_per_task_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.completed if self.completed else float("nan")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=3000, help="tasks queued before the cluster starts")
    parser.add_argument("--window", type=float, default=10.0, help="seconds over which completions are counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broker", choices=["orm", "redis", "both"], default="both")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite this benchmark's section of {DOCS_PAGE.name}")
    add_database_argument(parser, "pressroom_bench_kept")
    args = parser.parse_args(argv)
    if args.tasks < WARM_UP_TASKS * 3 or not 1 <= args.window <= 120 or not 1 <= args.workers <= 16:
        parser.error(f"--tasks must be at least {WARM_UP_TASKS * 3}, --window 1-120 s, --workers 1-16")
    return args


class CpuSampler:
    """CPU time (user + system) that the cluster's monitor and workers spend from `start()` on,
    sampled every 0.2 s by pid, so a worker recycled during the window counts up to its last
    sample and its replacement from its start. A process is recognised by the pid it logs."""

    def __init__(self, cluster: ManagedProcess):
        self.cluster = cluster
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.roles: dict[int, str] = {}

    def sample(self, *, starting: bool = False) -> None:
        import psutil

        output = self.cluster.output()
        for role, pattern in (("monitor", MONITOR), ("worker", WORKER)):
            for pid in pattern.findall(output):
                self.roles[int(pid)] = role
        for pid in self.roles:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            self.last[pid] = times.user + times.system
            if starting or pid not in self.first:
                self.first[pid] = self.last[pid] if starting else 0.0

    def seconds(self, role: str) -> float:
        return sum(self.last[pid] - self.first.get(pid, 0.0) for pid in self.last if self.roles[pid] == role)


def measure(broker: str, args, *, env: dict, database_url: str, log_dir: Path) -> WindowResult:
    save_limit = int(run_checked(
        "save-limit", [sys.executable, "manage.py", "shell", "-c",
                       "from django.conf import settings; print(settings.Q_CLUSTER['save_limit'])"],
        env=env, timeout=120, log_dir=log_dir,
    ).strip().splitlines()[-1])
    reset_tables(database_url)
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
        db.execute(RESULT_ROWS_SQL, [PICKLED_ARGS, PICKLED_KWARGS, PICKLED_RESULT, save_limit])
        log(f"{broker}: {save_limit} kept results; queueing {args.tasks} tasks")
        run_checked("queue-tasks", [sys.executable, "-m", "bench.queue_tasks", str(args.tasks)], env=env,
                    timeout=args.timeout, log_dir=log_dir)

        def completed() -> int:
            return db.execute("SELECT count(*) FROM tasks_generationtask WHERE status = 'completed'").fetchone()[0]

        cluster = start_cluster(f"cluster-{broker}", env=env, log_dir=log_dir)
        try:
            def warm() -> bool:
                cluster.ensure_running()
                return completed() >= WARM_UP_TASKS

            wait_until(warm, timeout=args.timeout, what=f"{WARM_UP_TASKS} tasks to complete")
            cpu = CpuSampler(cluster)
            cpu.sample(starting=True)
            start, start_count = time.monotonic(), completed()
            while time.monotonic() - start < args.window:
                time.sleep(0.2)
                cpu.sample()
            seconds, end_count = time.monotonic() - start, completed()
            cluster.ensure_running()
        finally:
            cluster.stop()
        if end_count >= args.tasks:
            raise BenchError(f"All {args.tasks} tasks finished within the window; queue more with --tasks.")
        saved = db.execute("SELECT count(*) FROM django_q_task WHERE name NOT LIKE 'kept-%'").fetchone()[0]
    return WindowResult(broker=broker, saved=saved, completed=end_count - start_count, seconds=seconds,
                        monitor_cpu=cpu.seconds("monitor"), worker_cpu=cpu.seconds("worker"))


def report(results: list[WindowResult]) -> str:
    lines = [
        "| broker | tasks/s | monitor CPU per task (ms) | workers' CPU per task (ms) | results saved in the run |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        lines.append(f"| {result.broker} | {result.per_second:.1f} | {result.cpu_per_task_ms(result.monitor_cpu):.2f} | "
                     f"{result.cpu_per_task_ms(result.worker_cpu):.2f} | {result.saved:,} |")
    return "\n".join(lines) + "\n"


def docs_body(table: str, args, *, argv: list[str], database_url: str, brokers: list[str]) -> str:
    machine = machine_description(postgres=server_version(database_url),
                                  redis=redis_version(args.redis_url) if "redis" in brokers else None, brokers=brokers)
    machine.append(f"{args.tasks} tasks queued, {args.workers} workers, completions counted over {args.window:.0f} s "
                   f"once {WARM_UP_TASKS} had completed")
    intro = f"Measured {measured_at()} with\n\n```sh\n{command_line('kept_results.py', argv, make_target='bench-kept')}\n```"
    notes = [
        "The run starts with the settings' save limit of successful job results in django-q2's table, as on a site "
        "that has run that many jobs; results saved in the run: those the monitor saved beside them.",
        "CPU per task: user + system time of the monitor or of the workers (by pid, sampled every 0.2 s) over the "
        "window, divided by the tasks completed in it.",
    ]
    return report_body(intro, machine, table, notes)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    database_url = benchmark_database_url(args.database_name)
    brokers = ["orm", "redis"] if args.broker == "both" else [args.broker]
    if "redis" in brokers and redis_version(args.redis_url) is None:
        if args.broker == "redis":
            raise SystemExit(f"No Redis answers at {args.redis_url}.")
        brokers = ["orm"]
    run_id = secrets.token_hex(4)

    def run(log_dir: Path) -> list[WindowResult]:
        base = production_environment(database_url, DJANGO_SETTINGS_MODULE="bench.settings",
                                      PRESSROOM_WORKERS=str(args.workers))
        migrate(database_url, base, log_dir=log_dir)
        results = []
        for broker in brokers:
            queue = f"bench-kept-{run_id}-{broker}"
            env = {**base, "PRESSROOM_QUEUE_NAME": queue, "PRESSROOM_BENCH_CACHE_PREFIX": f"bench-kept-{run_id}"}
            if broker == "redis":
                env["REDIS_URL"] = args.redis_url
            try:
                results.append(measure(broker, args, env=env, database_url=database_url, log_dir=log_dir))
                log(f"{broker}: {results[-1].per_second:.1f} tasks/s")
            finally:
                if broker == "redis":
                    delete_redis_keys(args.redis_url, [f"django_q:{queue}*", f"bench-kept-{run_id}*"])
        reset_tables(database_url)
        return results

    results = run_guarded(run, log_prefix="pressroom-bench-kept-", keep_logs=args.keep_logs)
    if results is None:
        return 1
    table = report(results)
    print(table)
    if args.write_docs:
        body = docs_body(table, args, argv=argv, database_url=database_url, brokers=[r.broker for r in results])
        write_docs_section(DOCS_PAGE, body, marker=MARKER, preamble=PREAMBLE)
        log(f"Wrote the kept-results section of {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
