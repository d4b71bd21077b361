"""Scaling benchmark: tasks per minute through the real content pipeline with 1, 2 and 4 clusters.

    python bench/cluster_scaling.py [--tasks 120] [--clusters 1,2,4] [--workers 2] [--latency 1] [--write-docs]
    make bench-scale                     # the same, with --write-docs

Against a database of its own (`pressroom_bench_scale` on DATABASE_URL's server, created and
migrated here), in production mode with the real settings (`config.settings`) and PostgreSQL as
broker, cache and channel layer (`--broker redis` puts broker, cache and channel layer on Redis).
The model is `bench.fake_model`: an OpenAI-compatible server in this process that answers each call
after a fixed `--latency` seconds, registered in the model catalog. The tasks are real blog-post
tasks (all five stages: research with pasted notes and the internal-posts search, outline, article
and critique from the model, QA held to its first round with `PRESSROOM_QA_MAX_ROUNDS=0` so every
task makes exactly three calls, the offline image, format).

For each cluster count C in `--clusters`, with the task tables emptied first: C `manage.py qcluster`
processes with `--workers` workers each start on the same queue, and once every one of them says
it is running, `--tasks` tasks are queued (so no cluster has a head start), and every task must
reach a final state within `--timeout` s.
Throughput is tasks / (last `finished_at` − first `started_at`) × 60. The ideal is what the model's
latency alone allows: C × workers tasks at a time, each waiting 3 × latency. Speed-up is against
the first row; efficiency is speed-up / (workers there / workers in the first row).

Only 127.0.0.1 is used; every wait is bounded and every process is stopped in `finally` (also on
Ctrl-C); the processes' logs go to a temporary folder, kept on failure.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.fake_model import NOTES, TOPIC, FixedLatencyModel  # noqa: E402
from bench.harness import (  # noqa: E402
    add_database_argument,
    benchmark_database_url,
    database_description,
    delete_redis_keys,
    log,
    migrate,
    production_environment,
    redis_version,
    reset_tables,
    run_checked,
    run_guarded,
    server_version,
    start_cluster,
    wait_until,
)
from bench.report import (  # noqa: E402
    DOCS_PAGE, command_line, machine_description, measured_at, report_body, write_docs_section,
)

MARKER = "cluster-scaling"
MODEL_KEY = "bench-fixed-latency"
CALLS_PER_TASK = 3  # outline, article, critique (QA held to its first round)
FINISHED = ("completed", "failed", "cancelled", "timed_out")
MAX_CLUSTERS = 16
READY = re.compile(r"Q Cluster \S+ (\[\S+\] )?running\.")  # what django-q2 logs once its workers are up
PREAMBLE = """## Throughput with more task clusters

```sh
make bench-scale         # = python bench/cluster_scaling.py --write-docs
```

`bench/cluster_scaling.py` queues the same number of real blog-post tasks for each run and starts 1,
2 and 4 django-q2 clusters (`manage.py qcluster`, the same workers each) on one queue, with a fake
OpenAI-compatible model that answers each of a task's three calls after a fixed latency. Tasks per
minute from the first task's start to the last one's end show how throughput grows with workers,
and where the machine, not the model, becomes the limit.

"""


def cluster_counts(text: str) -> list[int]:
    """The argparse type of `--clusters`: distinct positive counts, at most MAX_CLUSTERS each."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not counts or any(n < 1 or n > MAX_CLUSTERS for n in counts) or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"cluster counts must be distinct numbers from 1 to {MAX_CLUSTERS}")
    return counts


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=120, help="tasks per run (default 120)")
    parser.add_argument("--clusters", type=cluster_counts, default=[1, 2, 4],
                        help="cluster counts to run, comma-separated (default 1,2,4)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per cluster (default 2)")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the fake model takes per call")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm",
                        help="orm (PostgreSQL: broker, cache, channel layer; the default) or redis")
    parser.add_argument("--redis-url", default=None, help="for --broker redis (default: REDIS_URL)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for one run's tasks to end")
    add_database_argument(parser, "pressroom_bench_scale")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the scaling section of {DOCS_PAGE}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs even on success")
    args = parser.parse_args(argv)
    if not 1 <= args.tasks <= 10_000 or not 1 <= args.workers <= 32:
        parser.error("--tasks must be from 1 to 10000 and --workers from 1 to 32")
    if not 0 <= args.latency <= 60 or args.timeout <= 0:
        parser.error("--latency must be from 0 to 60 s and --timeout positive")
    if args.broker == "redis":
        args.redis_url = args.redis_url or os.environ.get("REDIS_URL")
        if not args.redis_url:
            parser.error("--broker redis needs --redis-url or REDIS_URL")
    return args


@dataclass
class ScalingRun:
    clusters: int
    workers: int
    tasks: int
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0
    model_calls: int = 0
    failures: list = field(default_factory=list)

    @property
    def total_workers(self) -> int:
        return self.clusters * self.workers

    @property
    def per_minute(self) -> float:
        return self.tasks / self.seconds * 60 if self.seconds else 0.0


def environment(database_url: str, args, *, media_folder: str, queue: str) -> dict:
    env = production_environment(
        database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        MEDIA_ROOT=media_folder,
        LOG_LEVEL="WARNING",
        PRESSROOM_WORKERS=str(args.workers),
        PRESSROOM_QA_MAX_ROUNDS="0",
        PRESSROOM_QUEUE_NAME=queue,
    )
    if args.broker == "redis":
        env["REDIS_URL"] = args.redis_url
    return env


def register_model(model_url: str, env: dict, *, log_dir: Path) -> None:
    """The fake model in the catalog, at this run's port (no API key: the fake asks for none)."""
    script = (
        "from tasks.models import ModelCatalogEntry\n"
        f"ModelCatalogEntry.objects.update_or_create(key={MODEL_KEY!r}, defaults=dict(\n"
        "    display_name='Benchmark model of fixed latency', provider='openai_compatible',\n"
        f"    provider_model_id='fake', base_url={model_url + '/v1'!r}, api_key_env='', enabled=True))\n"
    )
    run_checked("register-model", [sys.executable, "manage.py", "shell", "-c", script], env=env, timeout=120,
                log_dir=log_dir)


def queue_tasks(count: int, env: dict, *, log_dir: Path, name: str) -> None:
    """Queue `count` blog-post tasks through the service the API calls (each with its wake-up job on
    the broker), while no cluster runs."""
    script = (
        "from tasks.models import ModelCatalogEntry\n"
        "from tasks.services import task_create\n"
        f"model = ModelCatalogEntry.objects.get(key={MODEL_KEY!r})\n"
        f"for number in range({count}):\n"
        f"    task_create(created_by=None, brief={{'topic': {TOPIC!r}, 'title': f'Scale {{number}}', "
        "'model': model}, research_text=NOTES)\n"
    )
    run_checked(name, [sys.executable, "manage.py", "shell", "-c", f"NOTES = {NOTES!r}\n{script}"], env=env,
                timeout=600, log_dir=log_dir)


def statuses(db: psycopg.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT status, count(*) FROM tasks_generationtask GROUP BY status").fetchall())


def run_once(clusters: int, args, *, env: dict, database_url: str, model: FixedLatencyModel,
             log_dir: Path) -> ScalingRun:
    result = ScalingRun(clusters=clusters, workers=args.workers, tasks=args.tasks)
    reset_tables(database_url)
    env = {**env, "PRESSROOM_QUEUE_NAME": f"{env['PRESSROOM_QUEUE_NAME']}-{clusters}"}
    log(f"=== {clusters} cluster(s) × {args.workers} workers ===")
    calls_before = len(model.requests)
    # INFO for the cluster's "running" line (a few lines per task besides: nothing next to the model's wait).
    started = [start_cluster(f"cluster-{clusters}-{n}", env={**env, "LOG_LEVEL": "INFO"}, log_dir=log_dir)
               for n in range(clusters)]

    def all_running() -> bool:
        for cluster in started:
            cluster.ensure_running()
        return all(READY.search(cluster.output()) for cluster in started)

    wait_until(all_running, timeout=180, what=f"{clusters} cluster(s) to start")
    log(f"Queueing {args.tasks} tasks")
    queue_tasks(args.tasks, env, log_dir=log_dir, name=f"queue-{clusters}")
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
        def all_final() -> bool:
            for cluster in started:
                cluster.ensure_running()
            return sum(n for status, n in statuses(db).items() if status in FINISHED) >= args.tasks

        try:
            wait_until(all_final, timeout=args.timeout, interval=1,
                       what=f"all {args.tasks} tasks to end with {clusters} cluster(s)")
        finally:
            result.statuses = statuses(db)
            for cluster in started:
                cluster.stop()
        first, last = db.execute("SELECT min(started_at), max(finished_at) FROM tasks_generationtask").fetchone()
        result.seconds = (last - first).total_seconds()
        result.failures = [row[0] for row in db.execute(
            "SELECT DISTINCT left(error, 200) FROM tasks_generationtask WHERE status <> 'completed' LIMIT 3")]
    result.model_calls = len(model.requests) - calls_before
    log(f"{clusters} cluster(s): {result.per_minute:.1f} tasks/min ({result.seconds:.1f} s), {result.statuses}")
    return result


def results_table(runs: list[ScalingRun], args) -> str:
    base = runs[0]
    lines = [
        "| clusters | workers | tasks completed | wall time (s) | tasks/min | ideal tasks/min | speed-up "
        "| efficiency | model calls |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        ideal = run.total_workers * 60 / (CALLS_PER_TASK * args.latency) if args.latency else float("inf")
        speedup = run.per_minute / base.per_minute if base.per_minute else 0.0
        efficiency = speedup / (run.total_workers / base.total_workers)
        lines.append(
            f"| {run.clusters} | {run.total_workers} | {run.statuses.get('completed', 0)}/{run.tasks} "
            f"| {run.seconds:.1f} | **{run.per_minute:.1f}** | {ideal:.0f} | {speedup:.2f}× | {efficiency:.0%} "
            f"| {run.model_calls} |"
        )
    return "\n".join(lines) + "\n"


def notes_for(runs: list[ScalingRun], args) -> list[str]:
    notes = []
    for run in runs:
        if run.statuses.get("completed", 0) != run.tasks:
            notes.append(f"With {run.clusters} cluster(s) not every task completed: {run.statuses}; "
                         f"errors: {run.failures}")
        if run.model_calls != run.tasks * CALLS_PER_TASK:
            notes.append(f"With {run.clusters} cluster(s) the model got {run.model_calls} calls, "
                         f"not {run.tasks * CALLS_PER_TASK}.")
    notes.append(f"Ideal = workers × 60 / ({CALLS_PER_TASK} calls × {args.latency:g} s): the model's latency alone. "
                 f"The gap to it is the pipeline's own time per task (CPU and database) spread over "
                 f"{os.cpu_count()} cores, shared by every worker, PostgreSQL and the fake model.")
    return notes


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    database_url = benchmark_database_url(args.database_name)
    redis = redis_version(args.redis_url) if args.broker == "redis" else None
    if args.broker == "redis" and not redis:
        print(f"No Redis answers at {args.redis_url}.", file=sys.stderr)
        return 2
    queue = f"bench-scale-{secrets.token_hex(4)}"
    started = time.monotonic()

    def run(log_dir: Path) -> list[ScalingRun]:
        media_folder = tempfile.mkdtemp(prefix="pressroom-bench-scale-media-")
        try:
            with FixedLatencyModel(args.latency) as model:
                env = environment(database_url, args, media_folder=media_folder, queue=queue)
                migrate(database_url, env, log_dir=log_dir)
                register_model(model.url, env, log_dir=log_dir)
                runs = [run_once(n, args, env=env, database_url=database_url, model=model, log_dir=log_dir)
                        for n in args.clusters]
                reset_tables(database_url)
                return runs
        finally:
            shutil.rmtree(media_folder, ignore_errors=True)
            if args.broker == "redis":
                delete_redis_keys(args.redis_url, [f"django_q:{queue}*"])

    runs = run_guarded(run, log_prefix="pressroom-bench-scale-", keep_logs=args.keep_logs)
    if runs is None:
        return 1
    table, notes = results_table(runs, args), notes_for(runs, args)
    print(table + "".join(f"- {note}\n" for note in notes))
    log(f"Done in {time.monotonic() - started:.0f} s")
    if args.write_docs:
        machine = machine_description(postgres=server_version(database_url), redis=redis, brokers=[args.broker])
        machine.append(database_description(database_url))
        body = report_body(
            f"Run {measured_at()}: `{command_line('cluster_scaling.py', argv, make_target='bench-scale')}` — "
            f"{args.tasks} blog-post tasks per row, workers per cluster: {args.workers}, fake model "
            f"{args.latency:g} s per call, production settings.",
            machine, table, notes,
        )
        write_docs_section(DOCS_PAGE, body, marker=MARKER, preamble=PREAMBLE)
        log(f"Wrote {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
