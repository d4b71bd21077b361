"""What every benchmark drives: the production-mode environment, its own database, the processes
it starts, and bounded waits.

Everything here talks to PostgreSQL with psycopg and to the servers over 127.0.0.1, without
importing Django (only `django_in_this_process`, for the benchmarks that measure views in-process,
sets it up when called), so the measuring process stays small and the processes it measures are exactly
the ones a deployment runs (`daphne`, `gunicorn`, `manage.py qcluster`). Every process is started
in a process group of its own and registered, so `stop_all()` (called from `finally` and `atexit`)
ends them all, whatever went wrong; every wait has a deadline. Only `bench/` imports this module.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def log(message: str) -> None:
    """A progress line on stderr; stdout carries only the results table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """The benchmark could not measure what it set out to (a timeout, a lost task, a dead process)."""


def wait_until(predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll `predicate` until it returns something truthy; BenchError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise BenchError(f"Timed out after {timeout:.0f}s waiting for {what}.")
        time.sleep(interval)


# --- the environment of the processes measured -------------------------------------------------

def production_environment(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment a deployment runs in, for the processes a benchmark starts (or, with
    `os.environ` replaced by it, for the benchmark's own Django).

    Production mode (DEBUG=0: no per-query debug bookkeeping, hashed static files) over plain HTTP
    on 127.0.0.1, with a fresh SECRET_KEY per call and without REDIS_URL (PostgreSQL as broker,
    cache and channel layer, the default setup), so that nothing of the shell's own setup leaks
    into a measurement. `overrides` (settings module, rates, REDIS_URL for a Redis run...) come last.
    """
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
    )
    env.update(overrides)
    return env


def django_in_this_process(database_url: str, **overrides: str) -> None:
    """Django set up in this process, in production mode, for benchmarks that measure views through
    the test client without a server in between (`overrides` as for `production_environment`).
    Imported here, when called, so the other benchmarks' processes stay without Django."""
    env = production_environment(database_url, DJANGO_SETTINGS_MODULE="config.settings", ALLOWED_HOSTS="testserver")
    env.update(overrides)
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()


@contextmanager
def static_root() -> Iterator[str]:
    """A temporary STATIC_ROOT for `collectstatic`: with DEBUG=0 pages name the hashed files of its
    manifest. Removed afterwards."""
    folder = tempfile.mkdtemp(prefix="pressroom-bench-static-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- the benchmark database -------------------------------------------------------------------

def with_database_name(url: str, name: str) -> str:
    """The same server and credentials as `url`, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def database_server(url: str) -> str:
    """Where the server listens, without credentials: `127.0.0.1:5432` or a socket folder."""
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir or not parts.hostname:
        return f"the Unix socket in {socket_dir or 'the default folder'}"
    return f"{parts.hostname}:{parts.port or 5432}"


def ensure_database(url: str) -> bool:
    """Create the benchmark database if it is missing; True when it was created."""
    name = database_name(url)
    with psycopg.connect(with_database_name(url, "postgres"), autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def bench_database_name(name: str) -> str:
    """The argparse type of `--database-name`: a benchmark empties or replaces the tables of its
    database, so the name must say it is one (`reset_tables` refuses any other)."""
    if "bench" not in name:
        raise argparse.ArgumentTypeError(f"{name!r} does not contain 'bench': a benchmark empties its tables")
    return name


def add_database_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--database-name", default=default, type=bench_database_name,
                        help=f"benchmark database on DATABASE_URL's server, created if missing (default {default})")


def benchmark_database_url(name: str) -> str:
    """The database `name` on the server (and with the credentials) DATABASE_URL names; exits with
    status 2 when DATABASE_URL is not set."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set: run the `make bench*` targets, or set "
              f"DATABASE_URL=postgresql://USER@HOST:5432/ANY (the benchmark uses a database {name!r} on that server).",
              file=sys.stderr)
        raise SystemExit(2)
    return with_database_name(url, name)


def database_description(url: str) -> str:
    return f"Database `{database_name(url)}` on {database_server(url)}"


def migrate(url: str, env: dict, *, log_dir: Path, timeout: float = 300) -> None:
    """Create the benchmark database if it is missing and migrate it, as its processes will see it."""
    if ensure_database(url):
        log(f"Created database {database_name(url)}")
    log("Migrating the benchmark database")
    run_checked("migrate", [sys.executable, "manage.py", "migrate", "--noinput"], env=env, timeout=timeout,
                log_dir=log_dir)


def ensure_editor(username: str, env: dict, *, log_dir: Path, timeout: float,
                  password_variable: str | None = None) -> str:
    """An account in the Editors group for the benchmark's API calls, and an access token for it.

    With `password_variable` the account's password is that environment variable of `env` (so a
    benchmark can log in through the API as a client would); without, it has no usable password.
    Runs in `manage.py shell`, with the settings the measured processes use.
    """
    password = (f"user.set_password(os.environ[{password_variable!r}])\n" if password_variable
                else "user.set_unusable_password()\n")
    script = (
        "import os\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.models import Group\n"
        "from rest_framework_simplejwt.tokens import AccessToken\n"
        "from publishing.roles import EDITORS\n"
        f"user, _ = get_user_model().objects.get_or_create(username={username!r})\n"
        f"{password}"
        "user.save()\n"
        "user.groups.add(Group.objects.get(name=EDITORS))\n"
        "print('TOKEN=' + str(AccessToken.for_user(user)))\n"
    )
    out = run_checked(f"editor-{username}", [sys.executable, "manage.py", "shell", "-c", script], env=env,
                      timeout=timeout, log_dir=log_dir)
    for line in out.splitlines():
        if line.startswith("TOKEN="):
            return line[len("TOKEN="):]
    raise BenchError(f"Could not mint an access token for {username!r}.")


# The API as load tests drive it: no throttling of task creation or logins, and tokens that last
# the whole run. The creation rate is per second so that the throttle's history (one timestamp per
# request within the period, read and written by every create) stays as short as a production
# rate keeps it; per hour it would grow to every task the run created.
UNTHROTTLED_API = {
    "PRESSROOM_TASK_CREATE_RATE": "1000000/second",
    "PRESSROOM_AUTH_RATE": "1000/minute",
    "JWT_ACCESS_MINUTES": "120",
}


def server_version(url: str) -> str:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


# Task rows cascade to their events, checkpoints and versions; the django-q2 tables hold queued
# jobs (ORM broker) and results; the cache table holds throttle history. The reconcile schedule
# (django_q_schedule) stays.
RESET_TABLES = ["tasks_generationtask", "django_q_ormq", "django_q_task", "pressroom_cache"]


def reset_tables(url: str) -> None:
    try:
        bench_database_name(database_name(url))
    except argparse.ArgumentTypeError:
        raise BenchError(f"Refusing to empty tables of {database_name(url)!r}: not a benchmark database.")
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(f"TRUNCATE {', '.join(RESET_TABLES)} RESTART IDENTITY CASCADE")


# --- processes --------------------------------------------------------------------------------

_RUNNING: list[ManagedProcess] = []


class ManagedProcess:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.started_wall = time.time()
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.pid = self.process.pid
        _RUNNING.append(self)

    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def ensure_running(self) -> None:
        if not self.running():
            raise BenchError(
                f"{self.name} exited with status {self.process.returncode}; last lines of {self.log}:\n{self.tail()}"
            )

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the leader (a cluster stops its own workers; signalling them too would have each
        run the cluster's stop handler), then SIGKILL whatever is left of the group."""
        if _interrupted:
            timeout = min(timeout, INTERRUPTED_GRACE_SECONDS)
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # stragglers of the group, e.g. orphaned workers
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self in _RUNNING:
            _RUNNING.remove(self)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def stop_all() -> None:
    for process in list(_RUNNING):
        process.stop(timeout=10)


atexit.register(stop_all)


_interrupted = False
INTERRUPTED_GRACE_SECONDS = 3


def raise_on_termination() -> None:
    """Turn Ctrl-C, SIGTERM and SIGHUP into one KeyboardInterrupt, so `finally` blocks clean up.

    Only the first signal interrupts; later ones are ignored, so that a second Ctrl-C cannot cut
    the cleanup short. Once interrupted, processes get a short grace period instead of a full
    graceful stop (a cluster would first finish every job it holds).
    """

    def handler(signum, _frame):
        global _interrupted
        if _interrupted:
            print("Still stopping the benchmark's processes...", file=sys.stderr, flush=True)
            return
        _interrupted = True
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_checked(name: str, command: list[str], *, env: dict, timeout: float, log_dir: Path) -> str:
    """Run a short-lived command to completion; BenchError (with its output) if it fails."""
    log = log_dir / f"{name}.log"
    try:
        result = subprocess.run(
            command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout, start_new_session=True,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"{name} did not finish within {timeout:.0f}s.") from error
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise BenchError(f"{name} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


HTTP_TIMEOUT = 30


def http_json(port: int, method: str, path: str, body: dict | None = None, token: str = "") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data.startswith(b"{") else {})
    finally:
        conn.close()


def wait_for_healthz(server: ManagedProcess, port: int, *, timeout: float = 60) -> None:
    """Until the server answers /healthz with 200; BenchError if it exits or the timeout passes."""

    def answers() -> bool:
        server.ensure_running()
        try:
            return http_json(port, "GET", "/healthz")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    wait_until(answers, timeout=timeout, what=f"{server.name} to answer /healthz")


def start_daphne(*, env: dict, port: int, log_dir: Path, name: str = "daphne") -> ManagedProcess:
    """One Daphne serving the app on 127.0.0.1:`port` with `make run`'s command line, returned once it
    answers /healthz."""
    from scripts.supervisor import ws_command

    daphne = ManagedProcess(name, ws_command(host="127.0.0.1", port=port), env=env, log_dir=log_dir)
    wait_for_healthz(daphne, port)
    return daphne


def start_production_web(*, env: dict, port: int, log_dir: Path, name: str = "gunicorn") -> tuple[ManagedProcess, int]:
    """The web process of `make serve` on 127.0.0.1:`port`: the same Gunicorn command line, worker
    count (PRESSROOM_WEB_WORKERS, default 2 × cores + 1 sync workers of one thread each) and
    environment (DATABASE_CONN_MAX_AGE 60) as scripts/serve_production.py gives it. Returns it
    once it answers /healthz, with its worker count."""
    from scripts.serve_production import web_command, web_environment, web_workers

    workers = web_workers()
    command = web_command(bind="127.0.0.1", port=port, workers=workers, proxies=[])
    web = ManagedProcess(name, command, env=web_environment(env), log_dir=log_dir)
    wait_for_healthz(web, port)
    return web, workers


def start_cluster(name: str, *, env: dict, log_dir: Path) -> ManagedProcess:
    return ManagedProcess(name, [sys.executable, "manage.py", "qcluster"], env=env, log_dir=log_dir)


# --- Redis, for the runs that use it ---------------------------------------------------------

def redis_version(url: str) -> str | None:
    """The Redis server's version, or None when nothing answers at `url`."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        return client.info("server")["redis_version"]
    except redis.RedisError:
        return None


def delete_redis_keys(url: str, patterns: list[str]) -> None:
    """Delete a run's own keys afterwards; never raises (it runs in `finally`, and must not hide
    the error that brought us there)."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        for pattern in patterns:
            keys = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start:start + 500])
    except Exception as error:  # noqa: BLE001
        log(f"Could not delete the run's Redis keys ({error}); they match {', '.join(patterns)}")


# --- one run ----------------------------------------------------------------------------------

def run_guarded(body: Callable[[Path], T], *, log_prefix: str, keep_logs: bool = False) -> T | None:
    """Run `body(log_dir)` with every process it starts stopped afterwards, whatever happens.

    Returns what `body` returned, or None when it failed (BenchError) or was interrupted (Ctrl-C,
    SIGTERM, SIGHUP), after saying so on stderr. The processes' logs go to a temporary folder,
    removed on success unless `keep_logs`, kept (and named) otherwise.
    """
    raise_on_termination()
    log_dir = Path(tempfile.mkdtemp(prefix=log_prefix))
    ok = False
    try:
        result = body(log_dir)
        ok = True
        return result
    except BenchError as error:
        print(f"\nBenchmark failed: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping every process the benchmark started.", file=sys.stderr)
    finally:
        stop_all()
        if ok and not keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"Logs of the processes: {log_dir}", file=sys.stderr)
    return None
