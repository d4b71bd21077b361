"""The three measurements of the engine benchmark, each against an emptied benchmark database.

`measure_enqueue` POSTs tasks to the production web server (Gunicorn as `make serve` runs it);
`measure_engine` lets one cluster run them;
`measure_plain` lets the same cluster configuration run as many no-op django-q2 jobs. Each
returns what it measured or raises `BenchError` when something was lost or did not finish.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from bench.harness import (
    HTTP_TIMEOUT,
    BenchError,
    ManagedProcess,
    free_port,
    http_json,
    log,
    run_checked,
    start_cluster,
    start_production_web,
    wait_until,
)
from bench.engine_report import EnqueueResult, RunResult
from bench.noop import FLOOR_TABLE, FLOOR_TABLE_SQL, NOOP

BENCH_USER = "bench"
FINISHED_FAILED = ("failed", "cancelled", "timed_out")


# --- phase 1: POST /api/tasks -----------------------------------------------------------------

def submit_tasks(port: int, token: str, *, count: int, clients: int, timeout: float) -> tuple[list, float]:
    """POST `count` briefs from `clients` threads, each on one keep-alive connection.
    Returns [(status, latency_ms)] and the seconds from the first request to the last answer."""
    requests = [("POST", "/api/tasks", json.dumps({"topic": f"Benchmark task {number}", "title": f"Benchmark {number}"}))
                for number in range(count)]
    return send_concurrently(port, token, requests, clients=clients, timeout=timeout)


def warm_up(port: int, token: str, *, workers: int, clients: int, timeout: float) -> None:
    """`WARM_UP_PER_WORKER` × `workers` authenticated GET /api/auth/me before the measurement, so
    that each Gunicorn worker has opened its database connection and run the API's code once, as
    on a server that has been up for a while; they are not counted."""
    requests = [("GET", "/api/auth/me", None)] * (WARM_UP_PER_WORKER * workers)
    answers, _ = send_concurrently(port, token, requests, clients=clients, timeout=timeout)
    refused = [status for status, _ in answers if status != 200]
    if refused:
        raise BenchError(f"{len(refused)} warm-up requests were not answered 200: {sorted(set(refused))}")


WARM_UP_PER_WORKER = 20


def send_concurrently(port: int, token: str, requests: list[tuple[str, str, str | None]], *, clients: int,
                      timeout: float) -> tuple[list, float]:
    """Send (method, path, body) requests with the token from `clients` threads, each on one
    keep-alive connection. Returns [(status, latency_ms)] in the requests' order (0: no answer)
    and the seconds from the first request to the last answer."""
    local = threading.local()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def send(method: str, path: str, body: str | None) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
            local.conn.request(method, path, body, headers)
            response = local.conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            local.conn.close()
            local.conn = None
            status = 0
        return status, (time.perf_counter() - started) * 1000

    pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client")
    try:
        started = time.perf_counter()
        futures = [pool.submit(send, *request) for request in requests]
        done, pending = wait(futures, timeout=timeout)
        seconds = time.perf_counter() - started
        if pending:
            raise BenchError(f"{len(pending)} of {len(requests)} requests had no answer after {timeout:.0f}s.")
        return [future.result() for future in futures], seconds
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def wakeup_jobs(env: dict, db: psycopg.Connection) -> int:
    """Wake-up jobs waiting in the run's queue: one per created task, or some were lost."""
    queue = env["PRESSROOM_QUEUE_NAME"]
    if env.get("REDIS_URL"):
        import redis

        client = redis.Redis.from_url(env["REDIS_URL"], socket_connect_timeout=5, socket_timeout=10)
        try:
            return client.llen(f"django_q:{queue}:q")
        finally:
            client.close()
    return db.execute("SELECT count(*) FROM django_q_ormq WHERE key = %s", [queue]).fetchone()[0]


def measure_enqueue(env: dict, db: psycopg.Connection, args, *, password: str, log_dir: Path,
                    around_submit=contextlib.nullcontext) -> EnqueueResult:
    """`around_submit()`: a context manager entered for the measured submission alone (after the
    warm-up), e.g. to sample CPU (bench/create_throughput.py)."""
    port = free_port()
    web, workers = start_production_web(env=env, port=port, log_dir=log_dir)
    try:
        status, body = http_json(port, "POST", "/api/auth/token", {"username": BENCH_USER, "password": password})
        if status != 200:
            raise BenchError(f"POST /api/auth/token answered {status}: {body}")
        warm_up(port, body["access"], workers=workers, clients=args.clients, timeout=args.timeout)
        log(f"POSTing {args.tasks} tasks from {args.clients} clients to Gunicorn ({workers} workers) "
            f"on 127.0.0.1:{port}, after {WARM_UP_PER_WORKER * workers} warm-up GETs")
        with around_submit():
            answers, seconds = submit_tasks(port, body["access"], count=args.tasks, clients=args.clients,
                                            timeout=args.timeout)
    finally:
        web.stop()
    statuses = [status for status, _ in answers]
    stored = db.execute("SELECT count(*) FROM tasks_generationtask").fetchone()[0]
    result = EnqueueResult(
        tasks=args.tasks, clients=args.clients, seconds=seconds, latencies_ms=[ms for _, ms in answers],
        created_responses=statuses.count(201), tasks_in_database=stored, web_workers=workers,
        wakeup_jobs=wakeup_jobs(env, db),
    )
    if result.created_responses != args.tasks or stored != args.tasks or result.wakeup_jobs != args.tasks:
        histogram = {code: statuses.count(code) for code in sorted(set(statuses))}
        raise BenchError(
            f"Lost tasks: responses by status {histogram} (0 = no answer), {stored} tasks and "
            f"{result.wakeup_jobs} wake-up jobs in the queue, expected {args.tasks}. Gunicorn's log:\n{web.tail()}"
        )
    return result


# --- phases 2 and 3: a cluster runs N tasks or jobs ------------------------------------------

def run_cluster_until(name: str, env: dict, *, done, timeout: float, log_dir: Path) -> tuple[ManagedProcess, RssSampler, datetime]:
    """Start a cluster, sample its workers' memory until `done()` is true, stop it."""
    launched = datetime.now(timezone.utc)
    cluster = start_cluster(name, env=env, log_dir=log_dir)
    sampler = RssSampler(cluster)

    def finished() -> bool:
        cluster.ensure_running()
        sampler.sample()
        return done()

    try:
        wait_until(finished, timeout=timeout, what=f"{name} to finish", interval=0.2)
    finally:
        cluster.stop()
    return cluster, sampler, launched


def log_problems(cluster: ManagedProcess) -> dict:
    lines = cluster.output().splitlines()
    return {
        "warnings": sum(" WARNING " in line for line in lines),
        "errors": sum(" ERROR " in line or " CRITICAL " in line for line in lines),
        "first_problem": next((line for line in lines if " WARNING " in line or " ERROR " in line), ""),
    }


def measure_engine(env: dict, db: psycopg.Connection, args, *, broker: str, log_dir: Path) -> RunResult:
    count_sql = (
        "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = ANY(%s)) "
        "FROM tasks_generationtask"
    )

    def done() -> bool:
        completed, failed = db.execute(count_sql, [list(FINISHED_FAILED)]).fetchone()
        return completed + failed >= args.tasks

    log(f"Engine: one cluster with {args.workers} workers runs the {args.tasks} tasks")
    cluster, sampler, launched = run_cluster_until(f"engine-{broker}", env, done=done, timeout=args.timeout,
                                                   log_dir=log_dir)
    first, last, completed = db.execute(
        "SELECT min(started_at), max(finished_at), count(*) FILTER (WHERE status = 'completed') "
        "FROM tasks_generationtask"
    ).fetchone()
    if completed != args.tasks:
        statuses = dict(db.execute("SELECT status, count(*) FROM tasks_generationtask GROUP BY status").fetchall())
        errors = [row[0] for row in db.execute(
            "SELECT DISTINCT error FROM tasks_generationtask WHERE error <> '' LIMIT 5").fetchall()]
        raise BenchError(f"Engine: tasks by status {statuses}, errors {errors}; cluster log:\n{cluster.tail()}")
    events = db.execute("SELECT count(*) FROM tasks_taskevent").fetchone()[0]
    return RunResult(
        tasks=args.tasks, seconds=(last - first).total_seconds(), seconds_with_start=(last - launched).total_seconds(),
        peak_worker_mib=sampler.peak_worker_mib, peak_cluster_mib=sampler.peak_cluster_mib,
        workers_seen=len(sampler.worker_peaks), worker_cpu_seconds=sampler.worker_cpu_seconds,
        extra={"events_per_task": events / args.tasks, "log": log_problems(cluster)},
    )


def measure_plain(env: dict, db: psycopg.Connection, args, *, broker: str, log_dir: Path,
                  func: str = NOOP) -> RunResult:
    """N plain django-q2 jobs of `func` (the no-op, or `bench.noop.durable_floor`) on one cluster."""
    name = func.rsplit(".", 1)[-1]
    if func != NOOP:
        db.execute(FLOOR_TABLE_SQL)
        db.execute(f"TRUNCATE {FLOOR_TABLE}")
    log(f"Plain django-q2: enqueueing {args.tasks} {name} jobs")
    started = time.perf_counter()
    run_checked(f"enqueue-{name}", [sys.executable, "-m", "bench.noop", str(args.tasks), func], env=env,
                timeout=args.timeout, log_dir=log_dir)
    enqueue_seconds = time.perf_counter() - started
    count_sql = "SELECT count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success) FROM django_q_task WHERE func = %s"

    def done() -> bool:
        succeeded, failed = db.execute(count_sql, [func]).fetchone()
        if failed:
            raise BenchError(f"{failed} {name} jobs failed.")
        return succeeded >= args.tasks

    log(f"Plain django-q2: one cluster with {args.workers} workers runs the {args.tasks} {name} jobs")
    cluster, sampler, launched = run_cluster_until(f"{name}-{broker}", env, done=done, timeout=args.timeout,
                                                   log_dir=log_dir)
    first, last, succeeded = db.execute(
        "SELECT min(stopped), max(stopped), count(*) FROM django_q_task WHERE func = %s AND success", [func]
    ).fetchone()
    if succeeded != args.tasks:
        raise BenchError(f"Plain django-q2 ({name}): {succeeded} results, expected {args.tasks}.")
    return RunResult(
        tasks=args.tasks, seconds=(last - first).total_seconds(), seconds_with_start=(last - launched).total_seconds(),
        peak_worker_mib=sampler.peak_worker_mib, peak_cluster_mib=sampler.peak_cluster_mib,
        workers_seen=len(sampler.worker_peaks), worker_cpu_seconds=sampler.worker_cpu_seconds,
        extra={"enqueue_seconds": enqueue_seconds, "log": log_problems(cluster)},
    )


# --- memory of a cluster's workers ------------------------------------------------------------

WORKER_READY = re.compile(r"ready for work at (\d+)")


class RssSampler:
    """Peak resident set size of a cluster's worker processes, sampled on demand.

    django-q2 forks its workers from the cluster process and renames them only when setproctitle
    is installed, so a worker is recognised by the pid it logs ("Process-1:1 ready for work at
    PID"); recycled and replacement workers log theirs too. RSS counts pages shared with the parent
    after fork, so it overstates what each worker adds; it is what `ps` and container limits see.
    """

    def __init__(self, cluster: ManagedProcess):
        try:
            import psutil
        except ImportError:  # installed with pgserver; without it memory is reported as unknown
            psutil = None
            print("psutil is not installed: worker memory is not measured.", file=sys.stderr)
        self._psutil = psutil
        self.cluster = cluster
        self.worker_peaks: dict[int, int] = {}
        self.worker_cpu: dict[int, float] = {}  # last CPU time (user + system) seen per worker
        self.cluster_peak = 0
        self._log_offset = 0

    def sample(self) -> None:
        if self._psutil is None:
            return
        self._discover_workers()
        total = 0
        try:
            processes = [self._psutil.Process(self.cluster.pid)]
            processes += processes[0].children(recursive=True)
        except self._psutil.Error:
            return
        for process in processes:
            try:
                rss = process.memory_info().rss
            except self._psutil.Error:
                continue
            total += rss
            if process.pid in self.worker_peaks:
                self.worker_peaks[process.pid] = max(self.worker_peaks[process.pid], rss)
                try:
                    times = process.cpu_times()
                except self._psutil.Error:
                    continue
                self.worker_cpu[process.pid] = times.user + times.system
        self.cluster_peak = max(self.cluster_peak, total)

    def _discover_workers(self) -> None:
        with self.cluster.log.open("rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        cut = chunk.rfind(b"\n") + 1
        self._log_offset += cut
        for match in WORKER_READY.finditer(chunk[:cut].decode(errors="replace")):
            self.worker_peaks.setdefault(int(match.group(1)), 0)

    @property
    def peak_worker_mib(self) -> float | None:
        peaks = [peak for peak in self.worker_peaks.values() if peak]
        return max(peaks) / 2**20 if peaks else None

    @property
    def worker_cpu_seconds(self) -> float | None:
        return sum(self.worker_cpu.values()) if self.worker_cpu else None

    @property
    def peak_cluster_mib(self) -> float | None:
        return self.cluster_peak / 2**20 if self.cluster_peak else None
