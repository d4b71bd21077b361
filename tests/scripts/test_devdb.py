"""scripts/devdb.py: runs a command against Pressroom's database, and says so in one line when the
command cannot run at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def _devdb(*args: str) -> subprocess.CompletedProcess:
    # With DATABASE_URL set, devdb starts no server: only the command line is tried here.
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/never"}
    return subprocess.run([sys.executable, "scripts/devdb.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_commands_exit_status_is_devdbs():
    assert _devdb("run", "--", sys.executable, "-c", "raise SystemExit(7)").returncode == 7


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGABRT])
def test_a_command_a_signal_ended_is_128_plus_the_signal_as_a_shell_says(signum):
    """Before, Popen's -N went to sys.exit: 256 - N (241 for SIGTERM), which reads as no signal."""
    killed_by_itself = f"import os; os.kill(os.getpid(), {int(signum)})"

    assert _devdb("run", "--", sys.executable, "-c", killed_by_itself).returncode == 128 + signum


@pytest.mark.parametrize(("command", "status", "reason"), [
    ("/nonexistent/command", 127, "No such file or directory"),
    ("scripts/devdb.py", 126, "Permission denied"),  # a file, not executable
    ("", 126, "Permission denied"),
])
def test_a_command_that_cannot_run_is_one_line_and_a_shells_exit_status(command, status, reason):
    """Before, Popen's FileNotFoundError or PermissionError ended devdb in a traceback."""
    result = _devdb("run", "--", command, "--help")

    assert result.returncode == status
    assert result.stderr == f"devdb: cannot run {command!r}: {reason}\n"


@pytest.mark.parametrize("args", [[], ["run"], ["run", "--"], ["start", "--", "true"]])
def test_a_command_line_without_run_and_a_command_prints_the_usage(args):
    result = _devdb(*args)
    assert result.returncode == 2
    assert "python scripts/devdb.py run -- COMMAND [ARGS...]" in result.stderr
