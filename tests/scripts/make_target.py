"""A `make` target started by the script tests, and the scratch database it serves from.

The target runs in its own process group, so a signal or a kill reaches everything it started, and
writes its output to a log file. `-o .venv/.installed` keeps make from reinstalling the venv the
suite already runs in when pyproject.toml is newer than the venv's stamp (a just-edited checkout,
a shared venv).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180


class MakeTarget:
    def __init__(self, target: str, env: dict[str, str], log: Path):
        self.target = target
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", target],
            cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_until(self, serving: Callable[[], bool]) -> None:
        """Until `serving()` holds; fails if make exits first or START_TIMEOUT passes."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make {self.target} exited early:\n{self.output[-5000:]}"
            if serving():
                return
            time.sleep(0.5)
        raise AssertionError(f"make {self.target} did not serve within {START_TIMEOUT}s:\n{self.output[-5000:]}")

    def kill(self) -> None:
        """Ends a make still running, and its group. After make has exited it does nothing, so what
        outlived it stays for the test to find."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
