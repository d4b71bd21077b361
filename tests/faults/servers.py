"""Throwaway PostgreSQL and Redis servers for the fault tests, which stop, kill and restart them.

The fault tests never take down a server they did not start: each server here lives in a
temporary folder, listens on a free port of 127.0.0.1 and is stopped (and its folder deleted)
by the fixture that started it. PostgreSQL refuses to run as root, so when the tests run as root
the server runs as the `postgres` OS user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.processes import free_port, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresServer:
    """A PostgreSQL cluster of its own: `initdb` into a temporary folder, `pg_ctl` to run it."""

    def __init__(self):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pressroom-faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as_owner: dict = {}
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as_owner = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "cwd": "/"}
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def _run(self, program: str, *args: str, timeout: float = 90) -> None:
        subprocess.run(
            [str(PG_BIN / program), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=timeout, **self._as_owner,
        )

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back and disconnect every client, as a restart does)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def restart(self) -> tuple[float, float]:
        """A fast restart, as an outage: returns when it went down and when it answered again
        (time.monotonic())."""
        down = time.monotonic()
        self.stop()
        self.start()
        return down, time.monotonic()

    def remove(self) -> None:
        try:
            self.stop(mode="immediate")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


needs_redis_server = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")


class RedisServer:
    """A `redis-server` without persistence on a free port; `stop()` and `start()` again on the
    same port make an outage."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=15, message=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
