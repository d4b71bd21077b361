"""`make run`: prepare the database, then serve the web app and run a task cluster together.

Migrates, creates the demo accounts (development only), starts Daphne (HTTP and WebSocket) and a
django-q2 cluster as two child processes, waits until the web server answers, prints where
everything is, and on Ctrl-C (or SIGTERM) stops both and waits for them. If either child dies,
the other is stopped too and the exit status says so. HOST and PORT choose the address
(default 127.0.0.1:8000).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 20


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True)


def wait_until_serving(url: str, processes: list[subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    manage("migrate", "--noinput")
    manage("create_demo_accounts")

    stopping = False

    def request_stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    web = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", host, "-p", port, "--proxy-headers", "config.asgi:application"], cwd=BASE_DIR
    )
    cluster = subprocess.Popen([PYTHON, "manage.py", "qcluster"], cwd=BASE_DIR)
    processes = [web, cluster]

    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    if not wait_until_serving(f"{base}/healthz", processes):
        print("serve: the web server did not come up; stopping.", file=sys.stderr)
        stop(processes)
        return 1
    print(
        f"\nPressroom is running (web pid {web.pid}, task cluster pid {cluster.pid}).\n"
        f"  Admin (oversight hub): {base}/admin/\n"
        f"  Blog:                  {base}/\n"
        f"  API docs:              {base}/api/docs\n"
        "Demo logins: editor, reviewer, admin (passwords were printed when the accounts were created;\n"
        "  `make demo-passwords` issues new ones). Press Ctrl-C to stop.\n",
        flush=True,
    )
    exit_code = 0
    while not stopping:
        if web.poll() is not None or cluster.poll() is not None:
            died = "web server" if web.poll() is not None else "task cluster"
            print(f"serve: the {died} exited; stopping the other.", file=sys.stderr)
            exit_code = 1
            break
        time.sleep(0.2)
    print("serve: stopping the web server and the task cluster...", flush=True)
    stop(processes)
    print("serve: stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
