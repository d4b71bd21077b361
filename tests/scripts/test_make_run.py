"""`make run` really serves the admin and /healthz, and Ctrl-C stops everything it started.

Each test starts `make run` in its own process group on a free loopback port, polls until the
admin login page answers, then sends SIGINT to the group as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.scripts.make_target import MakeTarget

STOP_TIMEOUT = 40

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class MakeRun(MakeTarget):
    def __init__(self, env: dict[str, str]):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log = Path(env["PRESSROOM_VAR_DIR"]) / f"make-run-{self.port}.log"
        super().__init__("run", {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}, log)

    def wait_until_serving(self) -> None:
        self.wait_until(lambda: _get(f"{self.base}/admin/login/") == 200 and "Press Ctrl-C to stop" in self.output)

    def interrupt(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(f"make run did not stop within {STOP_TIMEOUT}s of Ctrl-C:\n{self.output}")


def _processes_in_group(pgid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == pgid:
                found.append(process)
        except (ProcessLookupError, psutil.Error):
            pass
    return found


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["PRESSROOM_VAR_DIR"] = str(tmp_path / "var")
    env["DEBUG"] = "1"
    return env


def _check_serves_and_stops(run: MakeRun) -> None:
    try:
        run.wait_until_serving()
        assert _get(f"{run.base}/healthz") == 200
        run.wait_until(lambda: _get(f"{run.base}/readyz") == 200)  # ready once the task cluster reported in
        assert _get(f"{run.base}/") == 200
        assert f"{run.base}/admin/" in run.output
        assert f"{run.base}/ " in run.output or f"{run.base}/\n" in run.output
        run.interrupt()
    finally:
        run.kill()
    assert "serve: stopped." in run.output
    assert _get(f"{run.base}/healthz") is None, "the web server still answers after Ctrl-C"
    assert _processes_in_group(run.process.pid) == [], "processes of make run outlived Ctrl-C"


def test_make_run_serves_admin_and_health_with_database_url(tmp_path, scratch_database_url):
    env = _base_env(tmp_path)
    env["DATABASE_URL"] = scratch_database_url
    run = MakeRun(env)
    _check_serves_and_stops(run)
    assert "Demo logins (shown once; stored hashed):" in run.output
    assert "embedded PostgreSQL" not in run.output
    assert not (tmp_path / "var" / "postgres").exists(), "an embedded server was started despite DATABASE_URL"
    # The web server and the cluster wrote their Prometheus values where make run pointed them.
    assert list((tmp_path / "var" / "metrics").glob("*.db")), "no multiprocess metrics files under var/metrics"


@pytest.fixture
def embedded_server_dir():
    """A directory outside pytest's own temporary root for the embedded PostgreSQL: pgserver (run
    as root) opens the path's directories to its `pgserver` user, and any other pytest run on the
    machine that starts meanwhile closes `/tmp/pytest-of-root` again (mode 0700), which made
    pg_ctl fail with "Permission denied" halfway through this test."""
    path = Path(tempfile.mkdtemp(prefix="pressroom-make-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_make_run_without_database_url_uses_its_own_postgres_and_is_harmless_twice(embedded_server_dir):
    tmp_path = embedded_server_dir
    env = _base_env(tmp_path)
    data_dir = tmp_path / "var" / "postgres"

    first = MakeRun(env)
    _check_serves_and_stops(first)
    assert f"embedded PostgreSQL, data in {data_dir}" in first.output
    passwords = [line.split()[1] for line in first.output.splitlines() if line.startswith(("  editor ", "  admin "))]
    assert len(passwords) == 2 and all(len(password) >= 16 for password in passwords)

    second = MakeRun(env)
    _check_serves_and_stops(second)
    assert "Demo account 'editor' exists; its password is unchanged." in second.output
    assert not any(password in second.output for password in passwords)

    assert not (tmp_path / "var" / "postgres.url").exists()
    leftovers = [
        process for process in psutil.process_iter(["cmdline"])
        if process.info["cmdline"] and str(data_dir) in " ".join(process.info["cmdline"])
    ]
    assert leftovers == [], "the embedded PostgreSQL kept running after make run stopped"
