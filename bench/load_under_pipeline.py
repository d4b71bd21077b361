"""Load benchmark: the blog and search under sustained load, alone and while tasks run through the
content pipeline, on the production serving setup.

    python bench/load_under_pipeline.py [--tasks 200] [--duration 30] [--connections 16] [--write-docs]
    make bench-load                       # the same, with --write-docs

Against a database of its own (`pressroom_bench_load` on DATABASE_URL's server, created, migrated
and seeded with `--posts` published posts by `bench.blog_seed`), in production mode (DEBUG=0,
hashed static files, PostgreSQL as cache, broker and channel layer: REDIS_URL unset), the three
processes `scripts/serve_production.py` runs, with the real settings (`config.settings`):

- Gunicorn (`config.wsgi`, `--web-workers` sync workers, persistent database connections) for the
  pages, with the blog's page cache on as by default (`PRESSROOM_BLOG_CACHE_SECONDS=600`). Search
  is measured on a second, identical Gunicorn with the page cache off
  (`PRESSROOM_BLOG_CACHE_SECONDS=0`), since with the cache on the rotating queries would all be
  served from memory after the first seconds; only one of the two is under load at a time.
- Daphne for /ws/ (the tasks' events are broadcast to the channel layer; no socket is open);
- one django-q2 cluster (`manage.py qcluster`, `--workers` workers), started only in phase 2.

The model is `bench.fake_model`: an OpenAI-compatible server in this process that answers every
call after a fixed `--latency` seconds, registered in the model catalog. The tasks are real
blog-post tasks (all five stages: research with pasted notes and the internal-posts search,
outline + article + critique from the model, QA held to its first round with
`PRESSROOM_QA_MAX_ROUNDS=0` so every task makes exactly three calls, the offline image, format),
created by an editor through `POST /api/tasks` on Gunicorn.

1. **Alone**: `wrk` (`--connections` connections, 2 threads, `--latency`) for `--duration` s on
   the blog pages (home, a post, a category archive in turn), then as long on search (50 real
   queries of every kind in turn, from the seeded posts' words); each after a 2 s warm-up.
2. **With the pipeline**: `--tasks` tasks are queued, the cluster starts, and once the first task
   runs the same two `wrk` runs follow. Then every task must reach a final state (completed,
   failed, cancelled, timed out) within `--timeout` s.

Requests/s, latency p50/p90/p99 and errors (non-2xx/3xx answers plus socket errors) for both phases,
the ratios with/without, and the pipeline's tasks/min (first start to last finish). Only 127.0.0.1
is used; every wait is bounded and every process is stopped in `finally` (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.blog_pages import check_pages, rotating_paths_script, search_queries, start_gunicorn, wrk  # noqa: E402
from bench.fake_model import NOTES, TOPIC, FixedLatencyModel  # noqa: E402
from bench.harness import (  # noqa: E402
    UNTHROTTLED_API,
    BenchError,
    add_database_argument,
    benchmark_database_url,
    database_description,
    ensure_editor,
    free_port,
    http_json,
    log,
    migrate,
    production_environment,
    reset_tables,
    run_checked,
    run_guarded,
    server_version,
    start_cluster,
    start_daphne,
    static_root,
    wait_until,
)
from bench.load_report import FINISHED, MARKER, PREAMBLE, LoadResult, notes_for, results_tables  # noqa: E402
from bench.report import (  # noqa: E402
    DOCS_PAGE, command_line, machine_description, measured_at, report_body, write_docs_section,
)
from scripts.serve_production import web_workers  # noqa: E402

BENCH_USER = "bench_load"
MODEL_KEY = "bench-fixed-latency"
CACHE_SECONDS = 600  # config.settings' default for PRESSROOM_BLOG_CACHE_SECONDS


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200, help="tasks run through the pipeline in phase 2")
    parser.add_argument("--duration", type=int, default=30, help="measured seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the fake model takes per call")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of the cluster")
    parser.add_argument("--web-workers", type=int, default=web_workers(),
                        help="Gunicorn sync workers (default as `make serve`: 2 x cores + 1)")
    parser.add_argument("--posts", type=int, default=1000, help="published posts to seed")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for all tasks to reach a final state")
    add_database_argument(parser, "pressroom_bench_load")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the load section of {DOCS_PAGE}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs even on success")
    args = parser.parse_args(argv)
    if min(args.tasks, args.duration, args.workers, args.web_workers, args.posts) < 1:
        parser.error("--tasks, --duration, --workers, --web-workers and --posts must be positive")
    if args.connections < 2:
        parser.error("--connections must be at least 2 (wrk runs 2 threads)")
    if args.duration > 300 or args.latency < 0:
        parser.error("--duration is at most 300 and --latency not negative")
    return args


def environment(database_url: str, args, *, static_folder: str, media_folder: str) -> dict:
    return production_environment(
        database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        **UNTHROTTLED_API,
        STATIC_ROOT=static_folder,
        MEDIA_ROOT=media_folder,
        LOG_LEVEL="WARNING",
        PRESSROOM_WORKERS=str(args.workers),
        PRESSROOM_QA_MAX_ROUNDS="0",
        PRESSROOM_BLOG_CACHE_SECONDS=str(CACHE_SECONDS),
    )


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


def clear_previous_run(url: str) -> None:
    """Empty the job queue and the cache before a run. The tasks of earlier runs stay (each run counts
    only its own), since emptying the task table cascades to the seeded posts; unless one was left
    unfinished by an interrupted run: the cluster would pick it up again, so then everything goes
    and the posts are seeded anew."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
        unfinished = db.execute("SELECT count(*) FROM tasks_generationtask WHERE status <> ALL(%s)",
                                [list(FINISHED)]).fetchone()[0]
        if not unfinished:
            db.execute("SET lock_timeout = '30s'")
            db.execute("TRUNCATE django_q_ormq, django_q_task, pressroom_cache")
            return
    log(f"{unfinished} unfinished tasks of an earlier run: emptying the task tables (and the seeded posts)")
    reset_tables(url)


def create_tasks(port: int, token: str, count: int) -> list[str]:
    """Queue `count` blog-post tasks through the API, as an API client would (no cluster runs yet);
    their ids."""
    ids = []
    for number in range(count):
        status, body = http_json(port, "POST", "/api/tasks", {
            "topic": TOPIC, "title": f"Load {number}", "model": MODEL_KEY, "research_notes": NOTES,
        }, token)
        if status != 201:
            raise BenchError(f"POST /api/tasks answered {status}: {body}")
        ids.append(body["id"])
    return ids


class RunTasks:
    """Queries over this run's tasks only."""

    def __init__(self, db: psycopg.Connection, ids: list[str]):
        self.db, self.ids = db, ids

    def query(self, sql: str):
        return self.db.execute(sql.replace("{RUN}", "id = ANY(%s::uuid[])"), [self.ids])

    def counts(self) -> dict[str, int]:
        return dict(self.query("SELECT status, count(*) FROM tasks_generationtask WHERE {RUN} GROUP BY status"))

    def finished(self) -> int:
        return sum(n for status, n in self.counts().items() if status in FINISHED)

    def started(self) -> int:
        return self.query("SELECT count(*) FROM tasks_generationtask WHERE {RUN} AND started_at IS NOT NULL"
                          ).fetchone()[0]


class Servers:
    """Gunicorn with the page cache (pages), Gunicorn without (search), and Daphne (/ws/)."""

    def __init__(self, env: dict, args, log_dir: Path):
        web_env = {**env, "DATABASE_CONN_MAX_AGE": "60"}  # as scripts/serve_production.py gives Gunicorn
        self.pages, self.pages_url = start_gunicorn(
            web_env, port=free_port(), workers=args.web_workers, log_dir=log_dir, wsgi="config.wsgi:application",
            name="gunicorn-pages")
        self.search, self.search_url = start_gunicorn(
            {**web_env, "PRESSROOM_BLOG_CACHE_SECONDS": "0"}, port=free_port(), workers=args.web_workers,
            log_dir=log_dir, wsgi="config.wsgi:application", name="gunicorn-search")
        self.daphne = start_daphne(env=env, port=free_port(), log_dir=log_dir)

    def ensure_running(self) -> None:
        for process in (self.pages, self.search, self.daphne):
            process.ensure_running()


def load(servers: Servers, args, *, pages_lua: Path, search_lua: Path, label: str) -> dict:
    """The two wrk runs of a phase, one after the other."""
    log(f"{label}: wrk on the blog pages for {args.duration} s")
    pages = wrk(servers.pages_url, connections=args.connections, seconds=args.duration, script=pages_lua)
    servers.ensure_running()
    log(f"{label}: wrk on search for {args.duration} s")
    search = wrk(servers.search_url, connections=args.connections, seconds=args.duration, script=search_lua)
    servers.ensure_running()
    return {"pages": pages, "search": search}


def run_pipeline_phase(servers: Servers, args, db: psycopg.Connection, *, env: dict, token: str, log_dir: Path,
                       pages_lua: Path, search_lua: Path, result: LoadResult) -> None:
    port = int(servers.pages_url.rsplit(":", 1)[1])
    log(f"Queueing {args.tasks} tasks through POST /api/tasks")
    tasks = RunTasks(db, create_tasks(port, token, args.tasks))
    log(f"Starting a cluster with {args.workers} workers")
    cluster = start_cluster("cluster", env=env, log_dir=log_dir)

    def started() -> bool:
        cluster.ensure_running()
        return tasks.started() > 0

    wait_until(started, timeout=120, what="the first task to start")
    result.finished_before_load = tasks.finished()
    result.with_pipeline = load(servers, args, pages_lua=pages_lua, search_lua=search_lua, label="With the pipeline")
    result.finished_after_load = tasks.finished()
    log(f"{result.finished_after_load} of {args.tasks} tasks finished by the end of the load; waiting for the rest")

    def all_final() -> bool:
        cluster.ensure_running()
        return tasks.finished() >= args.tasks

    try:
        wait_until(all_final, timeout=args.timeout, what=f"all {args.tasks} tasks to reach a final state", interval=1)
    finally:
        result.task_statuses = tasks.counts()
        cluster.stop()
    first, last = tasks.query("SELECT min(started_at), max(finished_at) FROM tasks_generationtask WHERE {RUN}"
                              ).fetchone()
    result.pipeline_seconds = (last - first).total_seconds()
    result.failures = [row[0] for row in tasks.query(
        "SELECT DISTINCT left(error, 200) FROM tasks_generationtask WHERE {RUN} AND status <> 'completed' LIMIT 3")]


def run(args, database_url: str, log_dir: Path) -> LoadResult:
    result = LoadResult(tasks=args.tasks)
    media_folder = tempfile.mkdtemp(prefix="pressroom-bench-load-media-")
    try:
        with static_root() as static_folder, FixedLatencyModel(args.latency) as model:
            env = environment(database_url, args, static_folder=static_folder, media_folder=media_folder)
            migrate(database_url, env, log_dir=log_dir, timeout=600)
            clear_previous_run(database_url)  # before seeding: it may empty the posts
            log("collectstatic, seed, editor, model")
            run_checked("collectstatic", [sys.executable, "manage.py", "collectstatic", "--noinput"], env=env,
                        timeout=300, log_dir=log_dir)
            run_checked("seed", [sys.executable, "-m", "bench.blog_seed", "--posts", str(args.posts)], env=env,
                        timeout=1800, log_dir=log_dir)
            token = ensure_editor(BENCH_USER, env, log_dir=log_dir, timeout=120)
            register_model(model.url, env, log_dir=log_dir)
            pages_lua = rotating_paths_script(log_dir / "pages.lua", ["/", "/posts/post-1/", "/category/category-1/"])
            search_lua = rotating_paths_script(log_dir / "search.lua",
                                               [f"/search/?q={q}" for q in search_queries(database_url)])
            servers = Servers(env, args, log_dir)
            check_pages(servers.pages_url, ["/", "/posts/post-1/", "/category/category-1/"])
            check_pages(servers.search_url, ["/search/?q=kalo"])
            result.alone = load(servers, args, pages_lua=pages_lua, search_lua=search_lua, label="Alone")
            with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
                run_pipeline_phase(servers, args, db, env=env, token=token, log_dir=log_dir, pages_lua=pages_lua,
                                   search_lua=search_lua, result=result)
            result.model_calls = len(model.requests)
            result.cluster_problems = cluster_problems(log_dir / "cluster.log")
        return result
    finally:
        shutil.rmtree(media_folder, ignore_errors=True)


def cluster_problems(log: Path) -> int:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return sum(" ERROR " in line or " CRITICAL " in line for line in lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    database_url = benchmark_database_url(args.database_name)
    started = time.monotonic()
    result = run_guarded(lambda log_dir: run(args, database_url, log_dir), log_prefix="pressroom-bench-load-",
                         keep_logs=args.keep_logs)
    if result is None:
        return 1
    tables = results_tables(result, args)
    notes = notes_for(result, args)
    print(tables + "\n" + "".join(f"- {note}\n" for note in notes))
    log(f"Done in {time.monotonic() - started:.0f} s")
    if args.write_docs:
        machine = machine_description(postgres=server_version(database_url),
                                      packages={"Django": "Django", "django-q2": "django-q2", "Daphne": "daphne",
                                                "Gunicorn": "gunicorn"})
        machine.append(database_description(database_url))
        body = report_body(
            f"Run {measured_at()}: `{command_line('load_under_pipeline.py', argv, make_target='bench-load')}` — "
            f"{args.posts:,} posts; Gunicorn with {args.web_workers} sync workers; a cluster of {args.workers} "
            f"workers; wrk {args.connections} connections × {args.duration} s per row; fake model "
            f"{args.latency:g} s per call; production settings, PostgreSQL as cache, broker and channel layer.",
            machine, tables, notes,
        )
        write_docs_section(DOCS_PAGE, body, marker=MARKER, preamble=PREAMBLE)
        log(f"Wrote {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
