"""WebSocket fan-out benchmark: event latency and Daphne memory with many watchers per task.

    python bench/websocket_fanout.py [--clients 1000] [--tasks 10] [--layer postgres|redis|both] [--write-docs]

For each channel layer (`postgres`: REDIS_URL unset, channels_postgres and the ORM broker;
`redis`: REDIS_URL set, channels_redis and the Redis broker), in one run on one machine, against
a database of its own (`pressroom_bench_ws` on DATABASE_URL's server, created and migrated here):

1. One Daphne (settings `bench.ws_settings`: five stages sleeping 0.5 s each, so a task emits its
   events over a few seconds) serves the app; `--tasks` tasks are POSTed with a JWT while no
   cluster runs, so they wait queued.
2. `--clients` WebSocket clients (asyncio + `websockets`, in this process) open
   `/ws/tasks/<id>?token=...`, spread evenly over the tasks, and each waits for its snapshot.
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

Every wait has a timeout; processes run in their own process groups and are stopped in `finally`
(also on Ctrl-C / SIGTERM). Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.harness import (  # noqa: E402
    BASE_DIR,
    BenchError,
    ManagedProcess,
    database_name,
    database_server,
    ensure_database,
    free_port,
    log,
    raise_on_termination,
    reset_tables,
    run_checked,
    server_version,
    start_cluster,
    stop_all,
    wait_until,
    with_database_name,
)
from bench.phases import daphne_ready, http_json  # noqa: E402
from bench.report import _version, machine_description  # noqa: E402

DOCS_PAGE = BASE_DIR / "docs" / "performance.md"
START_MARKER = "<!-- websocket-benchmark:start -->"
END_MARKER = "<!-- websocket-benchmark:end -->"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
BENCH_USER = "bench_ws"
FINISHED = ("completed", "failed", "cancelled", "timed_out")
POLL_INTERVAL_S = (2.0, 5.0)  # the reviewed system's polling interval


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="concurrent WebSocket clients in all")
    parser.add_argument("--tasks", type=int, default=10, help="running tasks the clients are spread over")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the cluster")
    parser.add_argument("--stage-seconds", type=float, default=0.5, help="sleep of each of the five stages")
    parser.add_argument("--layer", choices=["postgres", "redis", "both"], default="both")
    parser.add_argument("--database-name", default="pressroom_bench_ws")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the redis layer (own db index)")
    parser.add_argument("--connect-concurrency", type=int, default=100, help="handshakes in flight at once")
    parser.add_argument("--connect-budget", type=float, default=90, help="seconds for all clients to connect")
    parser.add_argument("--connect-timeout", type=float, default=30, help="seconds per handshake + snapshot")
    parser.add_argument("--run-timeout", type=float, default=120, help="seconds for the tasks to finish")
    parser.add_argument("--drain-timeout", type=float, default=20, help="seconds for late events afterwards")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the results section of {DOCS_PAGE}")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    if min(args.clients, args.tasks, args.workers) < 1:
        parser.error("--clients, --tasks and --workers must be positive")
    if "bench" not in args.database_name:
        parser.error("--database-name must contain 'bench': its tables are emptied")
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
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.ws_settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        PRESSROOM_TASK_CREATE_RATE="1000000/hour",
        PRESSROOM_AUTH_RATE="1000/minute",
        JWT_ACCESS_MINUTES="120",
        PRESSROOM_WORKERS=str(args.workers),
        PRESSROOM_BENCH_STAGE_SECONDS=str(args.stage_seconds),
    )
    return env


MINT = (
    "from django.contrib.auth import get_user_model\n"
    "from django.contrib.auth.models import Group\n"
    "from rest_framework_simplejwt.tokens import AccessToken\n"
    "from publishing.roles import EDITORS\n"
    f"user, _ = get_user_model().objects.get_or_create(username={BENCH_USER!r})\n"
    "user.set_unusable_password(); user.save()\n"
    "user.groups.add(Group.objects.get(name=EDITORS))\n"
    "print('TOKEN=' + str(AccessToken.for_user(user)))\n"
)


def prepare_database(url: str, env: dict, log_dir: Path) -> str:
    if ensure_database(url):
        log(f"Created database {database_name(url)}")
    log("Migrating the benchmark database")
    run_checked("migrate", [sys.executable, "manage.py", "migrate", "--noinput"], env=env, timeout=300,
                log_dir=log_dir)
    out = run_checked("mint-token", [sys.executable, "manage.py", "shell", "-c", MINT], env=env, timeout=120,
                      log_dir=log_dir)
    for line in out.splitlines():
        if line.startswith("TOKEN="):
            return line[len("TOKEN="):]
    raise BenchError("Could not mint a JWT for the benchmark user.")


# --- sampling Daphne --------------------------------------------------------------------------

class DaphneSampler(threading.Thread):
    """Daphne's RSS (and the benchmark database's backend count) every 0.2 s, keeping the peaks."""

    def __init__(self, pid: int, database_url: str):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.database_url = database_url
        self.peak_rss = 0
        self.peak_backends = 0
        self.stop_event = threading.Event()

    def rss(self) -> int:
        value = self.process.memory_info().rss
        self.peak_rss = max(self.peak_rss, value)
        return value

    def run(self) -> None:
        import psutil

        db = None
        try:
            db = psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            pass
        try:
            while not self.stop_event.wait(0.2):
                try:
                    self.rss()
                except psutil.Error:
                    return
                if db is not None:
                    try:
                        count = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                           ).fetchone()[0]
                        self.peak_backends = max(self.peak_backends, count)
                    except psycopg.Error:
                        db = None
        finally:
            if db is not None:
                db.close()


# --- the clients --------------------------------------------------------------------------------

@dataclass
class Client:
    number: int
    task: str
    last_snapshot_sequence: int | None = None
    connect_seconds: float | None = None
    failure: str | None = None
    frames: list = field(default_factory=list)  # (receive wall time, raw text)
    closed_by_server: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def run_client(client: Client, uri: str, semaphore: asyncio.Semaphore, timeout: float,
                     stop: asyncio.Event, connected: list) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with semaphore:
        started = time.perf_counter()
        try:
            ws = await connect(uri, open_timeout=timeout, close_timeout=2, ping_interval=None, max_queue=None,
                               max_size=2**22)
        except Exception as error:  # noqa: BLE001 - every kind of refusal is a result
            client.failure = f"handshake: {type(error).__name__}: {str(error)[:120]}"
            return
        try:
            first = await asyncio.wait_for(ws.recv(), timeout)
            snapshot = json.loads(first)
            if snapshot.get("type") != "snapshot":
                raise ValueError(f"first frame {first[:100]}")
            client.last_snapshot_sequence = snapshot["task"]["last_event_sequence"]
            client.connect_seconds = time.perf_counter() - started
        except ConnectionClosed as error:
            client.failure = f"closed before snapshot: code {error.rcvd.code if error.rcvd else None}"
            await ws.close()
            return
        except Exception as error:  # noqa: BLE001
            client.failure = f"snapshot: {type(error).__name__}: {str(error)[:120]}"
            await ws.close()
            return
    connected.append(client)
    try:
        receiver = asyncio.ensure_future(_receive(ws, client))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([receiver, stopper], return_when=asyncio.FIRST_COMPLETED)
        for future in (receiver, stopper):
            future.cancel()
        await asyncio.gather(receiver, stopper, return_exceptions=True)
    finally:
        try:
            await asyncio.wait_for(ws.close(), 3)
        except Exception:  # noqa: BLE001
            pass


async def _receive(ws, client: Client) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for message in ws:
            client.frames.append((time.time(), message))
    except ConnectionClosed as error:
        client.closed_by_server = f"code {error.rcvd.code if error.rcvd else None}"
    else:
        client.closed_by_server = f"code {ws.close_code}"


# --- one layer, end to end --------------------------------------------------------------------

@dataclass
class LayerResult:
    layer: str
    clients: int
    tasks: int
    connected: int = 0
    connect_seconds: float = 0.0
    connect_p50: float | None = None
    connect_p95: float | None = None
    failures: dict = field(default_factory=dict)
    events_expected: int = 0
    events_received: int = 0
    missing: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    latencies_ms: list = field(default_factory=list)
    rss_before: float = 0.0
    rss_connected: float = 0.0
    rss_peak: float = 0.0
    daphne_nofile: int | None = None
    daphne_cpu_seconds: float | None = None
    peak_backends: int = 0
    run_seconds: float = 0.0
    task_statuses: dict = field(default_factory=dict)
    closed_by_server: dict = field(default_factory=dict)
    events_per_task: float = 0.0
    daphne_log_problems: list = field(default_factory=list)

    def pct(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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


async def drive_clients(args, *, port: int, token: str, task_ids: list[str], start_run, wait_run,
                        sampler: DaphneSampler, result: LayerResult, event_max: callable) -> list[Client]:
    semaphore = asyncio.Semaphore(args.connect_concurrency)
    stop = asyncio.Event()
    connected: list[Client] = []
    clients = [Client(number=n, task=task_ids[n % len(task_ids)]) for n in range(args.clients)]
    runners = [
        asyncio.ensure_future(run_client(c, f"ws://127.0.0.1:{port}/ws/tasks/{c.task}?token={token}", semaphore,
                                         args.connect_timeout, stop, connected))
        for c in clients
    ]
    try:
        log(f"Connecting {args.clients} clients to {len(task_ids)} tasks ({args.connect_concurrency} handshakes "
            "at a time)")
        started = time.perf_counter()
        deadline = started + args.connect_budget
        while time.perf_counter() < deadline:
            settled = sum(1 for c in clients if c.failure or c.connect_seconds is not None)
            if settled == len(clients):
                break
            await asyncio.sleep(0.1)
        result.connect_seconds = time.perf_counter() - started
        result.connected = len(connected)
        times = sorted(c.connect_seconds for c in connected)
        if times:
            result.connect_p50 = times[len(times) // 2]
            result.connect_p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        pending = len(clients) - len(connected) - sum(1 for c in clients if c.failure)
        for c in clients:
            if c.failure:
                kind = c.failure.split(":")[0] + ": " + c.failure.split(":")[1].strip() if ":" in c.failure else c.failure
                result.failures[kind] = result.failures.get(kind, 0) + 1
        if pending:
            result.failures[f"still connecting after {args.connect_budget:.0f} s"] = pending
        await asyncio.sleep(1)  # let Daphne settle before reading its memory
        result.rss_connected = sampler.rss() / 2**20
        log(f"{len(connected)} of {args.clients} connected in {result.connect_seconds:.1f} s; "
            f"Daphne RSS {result.rss_connected:.0f} MiB; failures {result.failures or 'none'}")

        await asyncio.to_thread(start_run)
        run_started = time.perf_counter()
        await asyncio.to_thread(wait_run)
        result.run_seconds = time.perf_counter() - run_started
        # Drain: until every connected client has its task's last event, or the drain timeout.
        maxima = await asyncio.to_thread(event_max)
        drain_deadline = time.perf_counter() + args.drain_timeout
        while time.perf_counter() < drain_deadline:
            behind = [c for c in connected if not c.frames or
                      json.loads(c.frames[-1][1]).get("event", {}).get("sequence", 0) < maxima.get(c.task, 0)]
            if not behind:
                break
            await asyncio.sleep(0.2)
        return clients
    finally:
        stop.set()
        done, still = await asyncio.wait(runners, timeout=15)
        for runner in still:
            runner.cancel()
        if still:
            await asyncio.wait(still, timeout=5)


def analyse(clients: list[Client], events: dict, result: LayerResult) -> None:
    """events: task id → sorted list of (sequence, created_at)."""
    for c in clients:
        if c.last_snapshot_sequence is None:
            continue
        if c.closed_by_server:
            result.closed_by_server[c.closed_by_server] = result.closed_by_server.get(c.closed_by_server, 0) + 1
        expected = {seq for seq, _ in events.get(c.task, []) if seq > c.last_snapshot_sequence}
        seen: set[int] = set()
        last = c.last_snapshot_sequence
        for received_at, raw in c.frames:
            frame = json.loads(raw)
            if frame.get("type") != "event":
                continue
            event = frame["event"]
            sequence = event["sequence"]
            if sequence in seen:
                result.duplicates += 1
                continue
            if sequence < last:
                result.out_of_order += 1
            last = max(last, sequence)
            seen.add(sequence)
            result.events_received += 1
            sent = datetime.fromisoformat(event["time"]).timestamp()
            result.latencies_ms.append((received_at - sent) * 1000)
        result.events_expected += len(expected)
        result.missing += len(expected - seen)


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d )?(\d\d:\d\d:\d\d)[,.]\d+ (WARNING|ERROR|CRITICAL) (\S+) .*?task=\S+ (.*)$")


def summarise_log(output: str) -> list[str]:
    """Warnings and errors of Daphne's log, grouped: count, first and last time, the message."""
    groups: dict[tuple, list] = {}
    for line in output.splitlines():
        match = LOG_LINE.match(line)
        if not match:
            continue
        _, clock, level, logger, message = match.groups()
        message = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", message)[:140]
        entry = groups.setdefault((level, logger, message), [0, clock, clock])
        entry[0] += 1
        entry[2] = clock
    return [f"{count} × {level} {logger} `{message}` ({first}–{last} UTC)"
            for (level, logger, message), (count, first, last) in groups.items()]


def run_layer(layer: str, args, *, env: dict, database_url: str, token: str, run_id: str,
              log_dir: Path) -> LayerResult:
    import psutil

    queue = f"bench-ws-{run_id}-{layer}"
    env = {**env, "PRESSROOM_QUEUE_NAME": queue, "PRESSROOM_BENCH_CACHE_PREFIX": f"bench-ws-{run_id}"}
    if layer == "redis":
        env["REDIS_URL"] = args.redis_url
    result = LayerResult(layer=layer, clients=args.clients, tasks=args.tasks)
    log(f"=== {layer} channel layer (queue {queue}) ===")
    sampler = None
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
            reset_tables(database_url)
            port = free_port()
            daphne = ManagedProcess(f"daphne-{layer}", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p",
                                                        str(port), "config.asgi:application"], env=env, log_dir=log_dir)
            wait_until(lambda: daphne_ready(daphne, port), timeout=60, what="Daphne to answer /healthz")
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
            try:
                import redis

                client = redis.Redis.from_url(args.redis_url, socket_connect_timeout=2, socket_timeout=10)
                for pattern in (f"django_q:{queue}*", f"bench-ws-{run_id}*", "asgi*"):
                    keys = list(client.scan_iter(match=pattern, count=1000))
                    for start in range(0, len(keys), 500):
                        client.delete(*keys[start:start + 500])
            except Exception as error:  # noqa: BLE001
                log(f"Could not delete the run's Redis keys: {error}")
    log(f"{layer}: {result.events_received}/{result.events_expected} events, p50 {result.pct(50)} ms, "
        f"p95 {result.pct(95)} ms; Daphne RSS {result.rss_before:.0f} → {result.rss_connected:.0f} "
        f"(peak {result.rss_peak:.0f}) MiB")
    return result


# --- report -------------------------------------------------------------------------------------

def _n(value, digits=0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def results_table(results: list[LayerResult]) -> str:
    rows = [
        ("clients connected / asked (connect time, s)",
         [f"{r.connected} / {r.clients} ({r.connect_seconds:.1f})" for r in results]),
        ("handshake + snapshot per client p50 / p95 (s)", [f"{_n(r.connect_p50, 2)} / {_n(r.connect_p95, 2)}"
                                                          for r in results]),
        ("connect failures", [", ".join(f"{k}: {v}" for k, v in r.failures.items()) or "none" for r in results]),
        ("events received / expected", [f"{r.events_received:,} / {r.events_expected:,}" for r in results]),
        ("missing / duplicate / out of order", [f"{r.missing} / {r.duplicates} / {r.out_of_order}" for r in results]),
        ("**latency `created_at` → client, p50 (ms)**", [f"**{_n(r.pct(50))}**" for r in results]),
        ("latency p95 / max (ms)", [f"{_n(r.pct(95))} / {_n(r.pct(100))}" for r in results]),
        ("Daphne RSS before / all connected / peak (MiB)",
         [f"{r.rss_before:.0f} / {r.rss_connected:.0f} / {r.rss_peak:.0f}" for r in results]),
        ("Daphne RSS per connected client (KiB)",
         [_n((r.rss_connected - r.rss_before) * 1024 / r.connected if r.connected else None) for r in results]),
        ("Daphne CPU time over the run (s)", [_n(r.daphne_cpu_seconds, 1) for r in results]),
        ("peak PostgreSQL backends on the bench database", [str(r.peak_backends) for r in results]),
        ("cluster start → all tasks finished (s)", [f"{r.run_seconds:.1f}" for r in results]),
        ("events per task; task statuses", [f"{r.events_per_task:.0f}; " + ", ".join(
            f"{k} {v}" for k, v in r.task_statuses.items()) for r in results]),
    ]
    header = "| | " + " | ".join(f"{r.layer} layer" for r in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in rows]
    return "\n".join(lines)


def notes_for(results: list[LayerResult], args) -> list[str]:
    low, high = POLL_INTERVAL_S
    notes = [
        "Latency = the client's receive time − the event's `time` (`TaskEvent.created_at`), both on this "
        "machine's clock. `created_at` is set inside the transaction that writes the event and the "
        "broadcast runs on commit, so the figure includes the rest of that transaction and slightly "
        "overstates commit → client. The clients run in one asyncio process on the same 2 cores as "
        "Daphne, PostgreSQL, Redis and the workers, so their own scheduling is in the figure too.",
        f"For comparison, the reviewed system polls every {low:.0f}–{high:.0f} s: a poller sees an event on "
        f"average half an interval after it happened ({low / 2:.1f}–{high / 2:.1f} s), at worst a whole "
        f"interval ({low:.0f}–{high:.0f} s), and every watcher's poll is a request whether or not anything changed.",
        "Expected events per client = the task's TaskEvent rows with a sequence above the snapshot's "
        "`last_event_sequence` (the `queued` event of the POST is in the snapshot).",
    ]
    for r in results:
        if r.closed_by_server:
            notes.append(f"{r.layer}: connections closed by the server before the clients closed: "
                         + ", ".join(f"{k}: {v}" for k, v in r.closed_by_server.items()))
        if r.daphne_log_problems:
            notes.append(f"{r.layer}: Daphne's log: " + "; ".join(r.daphne_log_problems[:6]))
        if any("Timeout reading" in line for line in r.daphne_log_problems):
            notes.append(
                f"{r.layer}: each `Timeout reading from …:6379` above killed one consumer (close code 1011): "
                "channels_redis waits for messages with `BZPOPMIN` blocking up to its `brpop_timeout` of 5 s, "
                f"and redis-py {_version('redis')} gives every socket a default read timeout of 5 s "
                f"(channels_redis {_version('channels_redis')}), so an idle receive can time out; they come "
                "~5 s apart while no events flow (before the cluster starts and after the tasks end), and the "
                "clients here do not reconnect, so those sockets' remaining events count as missing.")
        if any("Too many connections" in line for line in r.daphne_log_problems):
            notes.append(f"{r.layer}: `Too many connections` is redis-py's pool limit (100 by default) being "
                         "reached by the channel layer during the connection burst: that consumer's "
                         "`group_add` failed and its socket was closed with 1011.")
        if any("does not exist, did you call group_add" in line for line in r.daphne_log_problems):
            notes.append(f"{r.layer}: the `Group … does not exist` warnings come from the POSTs' `queued` "
                         "events, broadcast before any client had joined: harmless.")
    return notes


def write_docs_section(body: str) -> None:
    text = DOCS_PAGE.read_text()
    section = f"{START_MARKER}\n{body}{END_MARKER}"
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        after = rest.split(END_MARKER, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + (
            "\n\n## WebSocket fan-out\n\n"
            "    python bench/websocket_fanout.py [--clients 1000] [--tasks 10] [--write-docs]\n\n"
            "One Daphne, one cluster, `--clients` WebSocket clients spread over `--tasks` running tasks "
            "(five stages sleeping 0.5 s each), for each channel layer: how late the clients see each "
            "event, whether any is lost, and what the connections cost Daphne in memory. See the "
            "script's docstring for the method.\n\n" + section + "\n")
    DOCS_PAGE.write_text(text)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    raise_on_termination()
    source_url = os.environ.get("DATABASE_URL")
    if not source_url:
        print("DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/pressroom_bench_ws).",
              file=sys.stderr)
        return 2
    limits = raise_open_files_limit(args.clients * 2 + 100)
    log(f"Open-files limit of this process (inherited by Daphne): {limits[0]}")
    database_url = with_database_name(source_url, args.database_name)
    layers = ["postgres", "redis"] if args.layer == "both" else [args.layer]
    redis_version = None
    if "redis" in layers:
        import redis

        try:
            redis_version = redis.Redis.from_url(args.redis_url, socket_connect_timeout=1).info("server")[
                "redis_version"]
        except redis.RedisError:
            print(f"No Redis answers at {args.redis_url}.", file=sys.stderr)
            return 2
    run_id = secrets.token_hex(4)
    log_dir = Path(tempfile.mkdtemp(prefix="pressroom-bench-ws-"))
    env = base_environment(database_url, args)
    results: list[LayerResult] = []
    ok = False
    try:
        token = prepare_database(database_url, env, log_dir)
        for layer in layers:
            results.append(run_layer(layer, args, env=env, database_url=database_url, token=token, run_id=run_id,
                                     log_dir=log_dir))
        ok = True
    except BenchError as error:
        print(f"\nBenchmark failed: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping every process the benchmark started.", file=sys.stderr)
    finally:
        stop_all()
        if ok and not args.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"Logs of the processes: {log_dir}", file=sys.stderr)
    if not ok:
        return 1
    table = results_table(results)
    print(table)
    notes = notes_for(results, args)
    for note in notes:
        print(f"- {note}")
    if args.write_docs:
        command = shlex.join(["python", "bench/websocket_fanout.py", *argv])
        if os.environ.get("MAKELEVEL"):
            command = f"make bench  # runs: {command}"
        machine = machine_description(postgres=server_version(database_url), redis=redis_version,
                                      brokers=["orm (postgres layer)", "redis (redis layer)"][:len(layers)]
                                      if layers == ["postgres", "redis"] else layers)
        machine.append(f"Database `{database_name(database_url)}` on {database_server(database_url)}")
        machine.append(f"{args.clients} clients over {args.tasks} tasks, {args.workers} workers, five stages of "
                       f"{args.stage_seconds} s; websockets {__import__('websockets').__version__} client in one "
                       "asyncio process")
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        body = (f"Measured {when} with `{command}` on:\n\n" + "".join(f"- {m}\n" for m in machine) + "\n"
                + table + "\n\n" + "".join(f"- {n}\n" for n in notes))
        write_docs_section(body)
        log(f"Wrote the results to {DOCS_PAGE.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
