"""Real processes for tests: django-q2 clusters (and later web servers) on the test database.

Processes run with `tests.cluster_settings` (the test pipeline), short heartbeats, in a process
group of their own so a test can SIGTERM or SIGKILL all of a cluster at once, and with their
output in a log file the assertion messages quote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psutil
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent

FAST_ENGINE_ENV = {
    "PRESSROOM_HEARTBEAT_SECONDS": "1",
    "PRESSROOM_HEARTBEAT_STALE_SECONDS": "3",
    "PRESSROOM_RETRY_BASE_SECONDS": "0",
}


def test_database_url() -> str:
    """DATABASE_URL of the database this test runs on (the test database, not the main one)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host, port = db["HOST"] or "", db["PORT"] or ""
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db['NAME']}?host={host}"
    return f"postgresql://{user}{password}@{host}{':' + port if port else ''}/{db['NAME']}"


def start_in_own_group(command: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    """Start `command` from the project folder in a process group of its own, output to `log`."""
    return subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


class Cluster:
    """A `manage.py qcluster` process group."""

    def __init__(self, log_dir: Path, *, name: str = "cluster", workers: int = 2, env: dict | None = None):
        self.log = log_dir / f"{name}-{time.monotonic_ns()}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.cluster_settings",
            "PRESSROOM_WORKERS": str(workers),
            **FAST_ENGINE_ENV,
            **(env or {}),
        }
        self.process = start_in_own_group([sys.executable, "manage.py", "qcluster"], env=environment, log=self.log)

    @property
    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30) -> None:
        if self.running():
            self.process.send_signal(signal.SIGTERM)  # as a service manager would: the cluster stops its workers
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap_group()

    def kill(self) -> None:
        """SIGKILL the whole cluster: the parent, sentinel, workers, monitor and pusher."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self._reap_group()

    def _reap_group(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def still_running(process: psutil.Process) -> bool:
    """Whether `process` has not exited: gone, a reused pid and a zombie (this machine's init reaps
    no orphan) all count as exited."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(predicate, *, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail with `message` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def free_port() -> int:
    """A TCP port nothing listens on right now, for a server a test starts."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raw_request(port: int, request: bytes, *, until_closed: bool = True) -> bytes:
    """Send `request`, bytes as they are, to 127.0.0.1:`port` and return the answer: all of it until
    the server closes the connection, or (`until_closed=False`: a WebSocket handshake the server
    keeps open) the first bytes it sends."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as peer:
        peer.sendall(request)
        answer = peer.recv(65536)
        while until_closed and (chunk := peer.recv(65536)):
            answer += chunk
        return answer


def raw_get(port: int, path: str, *headers: bytes) -> bytes:
    """The whole answer to `GET path` with `headers` (each `b"Name: value"`), sent as they are."""
    return raw_request(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
                       + b"".join(header + b"\r\n" for header in headers) + b"\r\n")


class WebServer:
    """A Daphne process serving the whole application (HTTP and WebSocket), as `make run` does,
    on a free local port of the test database, with its output in a log file."""

    def __init__(self, log_dir: Path, *, name: str = "daphne", port: int | None = None, env: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}-{time.monotonic_ns()}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.cluster_settings",
            **FAST_ENGINE_ENV,
            **(env or {}),
        }
        self.process = start_in_own_group(self.command(), env=environment, log=self.log)

    def command(self) -> list[str]:
        from scripts.supervisor import ws_command

        return ws_command(host="127.0.0.1", port=self.port)

    @property
    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def wait_until_ready(self, timeout: float = 30) -> None:
        """Wait until /healthz answers; fail with the server's log if it exits or never does."""
        from urllib.error import URLError
        from urllib.request import urlopen

        def answers() -> bool:
            if self.process.poll() is not None:
                return True  # it will not answer: say so below
            try:
                with urlopen(f"{self.url}/healthz", timeout=2) as response:
                    return response.status == 200
            except (URLError, OSError):
                return False

        try:
            wait_for(answers, timeout=timeout, message=f"{type(self).__name__} on {self.url}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.output[-4000:]}") from None
        if self.process.poll() is not None:
            raise AssertionError(f"{type(self).__name__} exited with {self.process.returncode}:\n{self.output[-4000:]}")

    def __enter__(self) -> WebServer:
        """`with WebServer(...) as server:` serves once ready and stops the server at the end,
        also when it never got ready."""
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def kill(self) -> None:
        """SIGKILL the server, as a crash or a lost machine would end it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


class GunicornServer(WebServer):
    """Gunicorn serving the WSGI application (HTTP only), as `make serve` runs the web process."""

    workers = 1

    def command(self) -> list[str]:
        from scripts.supervisor import GUNICORN_OPTIONS

        return [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                *GUNICORN_OPTIONS, "config.wsgi:application"]  # as scripts/serve_production.py
