"""WebSocket fan-out benchmark: event latency and Daphne memory with many watchers per task.

    python bench/websocket_fanout.py [--clients 1000] [--tasks 10] [--layer postgres|redis|both]
                                     [--client-processes 4] [--write-docs]

For each channel layer (`postgres`: REDIS_URL unset, channels_postgres and the ORM broker;
`redis`: REDIS_URL set, channels_redis and the Redis broker), in one run on one machine, against
a database of its own (`pressroom_bench_ws` on DATABASE_URL's server, created and migrated here):

1. One Daphne (settings `bench.ws_settings`: five stages sleeping 0.5 s each, so a task emits its
   events over a few seconds) serves the app; `--tasks` tasks are POSTed with a JWT while no
   cluster runs, so they wait queued.
2. `--clients` WebSocket clients (asyncio + `websockets`, spread over `--client-processes`
   processes so that the clients' own loops keep up) open `/ws/tasks/<id>?token=...`, spread
   evenly over the tasks, and each waits for its snapshot. Connect time = from the signal to
   start until every client has its snapshot; handshakes per second = connected ÷ that time.
3. Only once every client is connected (or the connect budget is spent) one `qcluster` with
   `--workers` workers starts and runs the tasks; every client records the receive time of every
   frame. When all tasks have finished and every client has its task's last event (or a drain
   timeout passed), the clients close.
4. Latency of an event = client receive time − the event's `time` (TaskEvent.created_at, same
   clock). `created_at` is set inside the transaction that commits the event, so it precedes the
   commit (and the broadcast, which runs on commit) by the rest of that transaction: the figure
   slightly overstates commit → client. Expected events per client = the TaskEvent rows of its
   task with a sequence above the snapshot's `last_event_sequence`; missing, duplicate and
   out-of-order events are counted.
5. Daphne's RSS (psutil) before the clients connect, with all of them connected, and its peak.
6. Each client process's event-loop lag (how late a 10 ms sleep wakes up), while connecting and
   while the tasks run: the share of the latency that is the clients' own, not the server's.

Every wait has a timeout; processes run in their own process groups and are stopped in `finally`
(also on Ctrl-C / SIGTERM). Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
import psycopg  # noqa: E402

from bench.harness import (  # noqa: E402
    UNTHROTTLED_API,
    BASE_DIR,
    BenchError,
    add_database_argument,
    benchmark_database_url,
    database_description,
    delete_redis_keys,
    ensure_editor,
    free_port,
    http_json,
    log,
    migrate,
    production_environment,
    redis_version,
    reset_tables,
    run_guarded,
    server_version,
    start_cluster,
    start_daphne,
    stop_all,
    wait_until,
)
from bench.report import DOCS_PAGE, command_line, machine_description, measured_at, write_docs_section  # noqa: E402
from bench.ws_clients import DaphneSampler, analyse, drive_clients  # noqa: E402
from bench.ws_report import MARKER, PREAMBLE, LayerResult, notes_for, results_table, summarise_log  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
BENCH_USER = "bench_ws"
FINISHED = ("completed", "failed", "cancelled", "timed_out")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="concurrent WebSocket clients in all")
    parser.add_argument("--tasks", type=int, default=10, help="running tasks the clients are spread over")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the cluster")
    parser.add_argument("--stage-seconds", type=float, default=0.5, help="sleep of each of the five stages")
    parser.add_argument("--layer", choices=["postgres", "redis", "both"], default="both")
    add_database_argument(parser, "pressroom_bench_ws")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the redis layer (own db index)")
    parser.add_argument("--connect-concurrency", type=int, default=100,
                        help="handshakes in flight at once (all client processes together)")
    parser.add_argument("--port", type=int, default=0,
                        help="Daphne's port on 127.0.0.1 (the redis layer's run uses the next one); default: a free one")
    parser.add_argument("--client-processes", type=int, default=4, help="processes the clients are spread over")
    parser.add_argument("--connect-budget", type=float, default=90, help="seconds for all clients to connect")
    parser.add_argument("--connect-timeout", type=float, default=30, help="seconds per handshake + snapshot")
    parser.add_argument("--run-timeout", type=float, default=120, help="seconds for the tasks to finish")
    parser.add_argument("--drain-timeout", type=float, default=20, help="seconds for late events afterwards")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the results section of {DOCS_PAGE}")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    if min(args.clients, args.tasks, args.workers, args.client_processes, args.connect_concurrency) < 1:
        parser.error("--clients, --tasks, --workers, --client-processes and --connect-concurrency must be positive")
    if args.port and not 1 <= args.port <= 65534:
        parser.error("--port must be between 1 and 65534")
    return args


def raise_open_files_limit(needed: int) -> tuple[int, int]:
    """Raise this process's RLIMIT_NOFILE soft limit; children (Daphne) inherit it at fork."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            log(f"Open-files limit capped by the hard limit {hard} (< {needed} wanted)")
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# --- setup ------------------------------------------------------------------------------------

def base_environment(database_url: str, args) -> dict:
    return production_environment(
        database_url,
        DJANGO_SETTINGS_MODULE="bench.ws_settings",
        **UNTHROTTLED_API,
        PRESSROOM_WORKERS=str(args.workers),
        PRESSROOM_BENCH_STAGE_SECONDS=str(args.stage_seconds),
        PRESSROOM_WS_MAX_SOCKETS_PER_USER=str(args.clients),  # every client is the one bench editor
    )


def prepare_database(url: str, env: dict, log_dir: Path) -> str:
    migrate(url, env, log_dir=log_dir, timeout=300)
    return ensure_editor(BENCH_USER, env, log_dir=log_dir, timeout=120)


# --- one layer, end to end --------------------------------------------------------------------

def create_tasks(port: int, token: str, count: int) -> list[str]:
    ids = []
    for number in range(count):
        status, body = http_json(port, "POST", "/api/tasks", {"topic": f"WebSocket fan-out {number}",
                                                              "title": f"Fan-out {number}"}, token)
        if status != 201:
            raise BenchError(f"POST /api/tasks answered {status}: {body}")
        ids.append(str(body["id"]))
    return ids


def task_statuses(db: psycopg.Connection) -> dict:
    rows = db.execute("SELECT status, count(*) FROM tasks_generationtask GROUP BY status").fetchall()
    return dict(rows)


def run_layer(layer: str, args, *, env: dict, database_url: str, token: str, run_id: str,
              log_dir: Path) -> LayerResult:
    queue = f"bench-ws-{run_id}-{layer}"
    env = {**env, "PRESSROOM_QUEUE_NAME": queue, "PRESSROOM_BENCH_CACHE_PREFIX": f"bench-ws-{run_id}"}
    if layer == "redis":
        env["REDIS_URL"] = args.redis_url
    result = LayerResult(layer=layer, clients=args.clients, tasks=args.tasks, client_processes=args.client_processes)
    log(f"=== {layer} channel layer (queue {queue}) ===")
    sampler = None
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
            reset_tables(database_url)
            port = args.port + ["postgres", "redis"].index(layer) if args.port else free_port()
            daphne = start_daphne(env=env, port=port, log_dir=log_dir, name=f"daphne-{layer}")
            process = psutil.Process(daphne.pid)
            result.daphne_nofile = process.rlimit(psutil.RLIMIT_NOFILE)[0]
            cpu_before = sum(process.cpu_times()[:2])
            task_ids = create_tasks(port, token, args.tasks)
            log(f"Created {len(task_ids)} queued tasks; Daphne on 127.0.0.1:{port} (open-files limit "
                f"{result.daphne_nofile})")
            sampler = DaphneSampler(daphne.pid, database_url)
            result.rss_before = sampler.rss() / 2**20
            sampler.start()

            def start_run() -> None:
                log(f"Starting a cluster with {args.workers} workers")
                start_cluster(f"cluster-{layer}", env=env, log_dir=log_dir)

            def wait_run() -> None:
                def finished():
                    daphne.ensure_running()
                    statuses = task_statuses(db)
                    return sum(n for s, n in statuses.items() if s in FINISHED) == args.tasks

                wait_until(finished, timeout=args.run_timeout, what="the tasks to finish", interval=0.5)
                log("All tasks finished")

            def event_max() -> dict:
                rows = db.execute("SELECT task_id::text, max(sequence) FROM tasks_taskevent GROUP BY task_id")
                return dict(rows.fetchall())

            clients = asyncio.run(drive_clients(args, port=port, token=token, task_ids=task_ids,
                                                start_run=start_run, wait_run=wait_run, sampler=sampler,
                                                result=result, event_max=event_max))
            sampler.stop_event.set()
            sampler.join(5)
            result.rss_peak = sampler.peak_rss / 2**20
            result.peak_backends = sampler.peak_backends
            try:
                result.daphne_cpu_seconds = sum(process.cpu_times()[:2]) - cpu_before
            except psutil.Error:
                pass
            result.task_statuses = task_statuses(db)
            events: dict = {}
            for task, sequence, created in db.execute(
                "SELECT task_id::text, sequence, created_at FROM tasks_taskevent ORDER BY task_id, sequence"
            ):
                events.setdefault(task, []).append((sequence, created))
            result.events_per_task = sum(len(v) for v in events.values()) / max(1, len(events))
            analyse(clients, events, result)
            result.daphne_log_problems = summarise_log(daphne.output())
            reset_tables(database_url)
    finally:
        if sampler is not None:
            sampler.stop_event.set()
        stop_all()
        if layer == "redis":
            delete_redis_keys(args.redis_url, [f"django_q:{queue}*", f"bench-ws-{run_id}*", "asgi*"])
    log(f"{layer}: {result.events_received}/{result.events_expected} events, p50 {result.pct(50)} ms, "
        f"p95 {result.pct(95)} ms; Daphne RSS {result.rss_before:.0f} → {result.rss_connected:.0f} "
        f"(peak {result.rss_peak:.0f}) MiB")
    return result


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    database_url = benchmark_database_url(args.database_name)
    limits = raise_open_files_limit(args.clients * 2 + 100)
    log(f"Open-files limit of this process (inherited by Daphne): {limits[0]}")
    layers = ["postgres", "redis"] if args.layer == "both" else [args.layer]
    redis = None
    if "redis" in layers:
        redis = redis_version(args.redis_url)
        if not redis:
            print(f"No Redis answers at {args.redis_url}.", file=sys.stderr)
            return 2
    run_id = secrets.token_hex(4)
    env = base_environment(database_url, args)

    def run(log_dir: Path) -> list[LayerResult]:
        token = prepare_database(database_url, env, log_dir)
        return [run_layer(layer, args, env=env, database_url=database_url, token=token, run_id=run_id,
                          log_dir=log_dir) for layer in layers]

    results = run_guarded(run, log_prefix="pressroom-bench-ws-", keep_logs=args.keep_logs)
    if results is None:
        return 1
    table = results_table(results)
    print(table)
    notes = notes_for(results, args)
    for note in notes:
        print(f"- {note}")
    if args.write_docs:
        command = command_line("websocket_fanout.py", argv, make_target="bench")
        machine = machine_description(postgres=server_version(database_url), redis=redis,
                                      brokers=["orm (postgres layer)", "redis (redis layer)"][:len(layers)]
                                      if layers == ["postgres", "redis"] else layers)
        machine.append(database_description(database_url))
        machine.append(f"{args.clients} clients over {args.tasks} tasks, {args.workers} workers, five stages of "
                       f"{args.stage_seconds} s; websockets {__import__('websockets').__version__} clients in "
                       f"{args.client_processes} asyncio process(es)")
        body = (f"Measured {measured_at()} with `{command}` on:\n\n" + "".join(f"- {m}\n" for m in machine) + "\n"
                + table + "\n\n" + "".join(f"- {n}\n" for n in notes))
        write_docs_section(DOCS_PAGE, body, marker=MARKER, preamble=PREAMBLE)
        log(f"Wrote the results to {DOCS_PAGE.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
