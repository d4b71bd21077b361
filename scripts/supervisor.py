"""What `make run` (scripts/serve.py) and `make serve` (scripts/serve_production.py) share: run
manage.py commands, start long-running children, wait until their servers answer, and keep them
running together — SIGINT or SIGTERM stops them all; when one exits on its own, the others are
stopped too and the exit status is 1.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
KILL_WAIT_SECONDS = 5  # for a SIGKILLed process to be gone

# What every Gunicorn Pressroom starts (the web process, a worker machine's metrics server) runs with:
GUNICORN_OPTIONS = [
    # Gunicorn 25.1+ opens a control socket at one path per user ($XDG_RUNTIME_DIR or
    # ~/.gunicorn/gunicorn.ctl): a second master on the machine (the metrics server, another
    # site) took it over, and any process of the user could resize or stop the web through it.
    # Pressroom's processes are run by `make serve` or a service manager, not `gunicornc`.
    "--no-control-socket",
    # Its own lines (start, workers booting and exiting, refused requests) in the log's format:
    # JSON in production, like every other line (config/gunicorn_logging.py).
    "--logger-class", "config.gunicorn_logging.Logger",
    # Pressroom is served at the root of its host: no SCRIPT_NAME or PATH_INFO header, not even from
    # a trusted proxy (Gunicorn's default takes both from one), may move it under a prefix. A
    # `SCRIPT_NAME: /x` passed on by a proxy rendered /x/ with every link under /x/, and answered
    # 500 for any other path.
    "--forwarder-headers=",
]


def ws_command(*, host: str, port: int | str) -> list[str]:
    """The Daphne command line of the WebSocket (and, under `make run`, the whole) server.

    No --proxy-headers: Daphne would believe X-Forwarded-For from any peer; the project reads it
    only from PRESSROOM_TRUSTED_PROXIES (config/client_address.py). Verbosity 0 turns Daphne's own
    access log off, a plain-text line per request on stdout: each HTTP request's line is
    `pressroom.request`'s, and each WebSocket's (accepted, refused, closed) too
    (`config.request_id.WebSocketRequestLog`), in the log's format, with a request id.
    """
    return [PYTHON, "-m", "daphne", "--verbosity", "0", "-b", host, "-p", str(port), "config.asgi:application"]


def metrics_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` with PROMETHEUS_MULTIPROC_DIR set (its own value, or <PRESSROOM_VAR_DIR>/metrics), the
    folder created and emptied: every child writes its Prometheus values there and /metrics sums
    them (config/metrics.py). It is emptied here, before any child starts, and never by a child,
    or the previous run's counters (and dead processes' open-socket gauges) would be added in."""
    var_dir = Path(env.get("PRESSROOM_VAR_DIR") or BASE_DIR / "var")
    directory = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or var_dir / "metrics").resolve()
    if directory.exists():
        for entry in directory.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    """Run `manage.py args`; a failure stops the caller with one line (the command said why above)."""
    finished = subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env)
    if finished.returncode != 0:
        raise SystemExit(f"serve: `manage.py {args[0]}` failed (exit status {finished.returncode}); nothing was started.")


def start(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=BASE_DIR, env=env)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to https, with SECURE_SSL_REDIRECT) is already an answer


def wait_until_serving(urls: list[str], processes: dict[str, subprocess.Popen], timeout: float) -> bool:
    """True once every URL answers (any HTTP status), False if a process exits or time runs out."""
    opener = urllib.request.build_opener(_NoRedirects)
    deadline = time.monotonic() + timeout
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes.values()):
            return False
        try:
            with opener.open(waiting[0], timeout=2):
                pass
            waiting.pop(0)
            continue
        except urllib.error.HTTPError:
            waiting.pop(0)  # it answered: a 301 to https or a 400 for a host not allowed is an answer
            continue
        except OSError:
            pass
        time.sleep(0.3)
    return not waiting


def stop(processes: dict[str, subprocess.Popen], grace_seconds: float) -> None:
    """SIGTERM every child and give them `grace_seconds` to exit with every process they started;
    then SIGKILL what is left: a child, and any process it started that outlived it (a task cluster
    killed in a hung shutdown would leave its sentinel, pusher, monitor and workers running)."""
    started = _descendants(processes.values())  # known while the children live
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            started += _descendants([process])
            process.kill()
            process.wait()
    _end(started, deadline)


def _descendants(processes) -> list[psutil.Process]:
    found = []
    for process in processes:
        try:
            found += psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    return found


def _running(process: psutil.Process) -> bool:
    try:  # is_running() also tells a reused pid from the process it was
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _end(processes: list[psutil.Process], deadline: float) -> None:
    """Wait until `deadline` for `processes` to exit, then SIGKILL those still running."""
    while any(_running(process) for process in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = [process for process in processes if _running(process)]
    for process in killed:
        print(f"serve: killing {process.pid}, which outlived the process that started it.", file=sys.stderr, flush=True)
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    stop_waiting = time.monotonic() + KILL_WAIT_SECONDS
    while any(_running(process) for process in killed) and time.monotonic() < stop_waiting:
        time.sleep(0.05)


class StopSignals:
    """Turns SIGINT and SIGTERM into a flag the supervising loop reads."""

    def __init__(self):
        self.received = False
        signal.signal(signal.SIGINT, self._receive)
        signal.signal(signal.SIGTERM, self._receive)

    def _receive(self, _signum, _frame) -> None:
        self.received = True


def supervise(processes: dict[str, subprocess.Popen], signals: StopSignals, *, grace_seconds: float) -> int:
    """Keep the children running until a stop signal (exit status 0) or until one of them exits
    (the others are stopped, exit status 1)."""
    exit_code = 0
    while not signals.received:
        died = [name for name, process in processes.items() if process.poll() is not None]
        if died:
            print(f"serve: the {died[0]} exited; stopping the others.", file=sys.stderr, flush=True)
            exit_code = 1
            break
        time.sleep(0.2)
    print(f"serve: stopping the {', the '.join(processes)}...", flush=True)
    stop(processes, grace_seconds)
    print("serve: stopped.", flush=True)
    return exit_code


def serve(processes: dict[str, subprocess.Popen], signals: StopSignals, *, ready_urls: list[str], banner: str,
          start_timeout: float, grace_seconds: float) -> int:
    """Wait until every URL of `ready_urls` answers, print `banner`, then `supervise`; exit status
    1 (after stopping them all) if the servers never come up."""
    if not wait_until_serving(ready_urls, processes, timeout=start_timeout):
        print("serve: the servers did not come up; stopping.", file=sys.stderr, flush=True)
        stop(processes, grace_seconds)
        return 1
    print(banner, flush=True)
    return supervise(processes, signals, grace_seconds=grace_seconds)
