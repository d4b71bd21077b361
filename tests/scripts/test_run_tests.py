"""`make test`'s two runs (scripts/run_tests.py): the tests that start no process, then the slow
ones, each on xdist workers; both always run, and a run that selects nothing counts as passed. And
the workers' Redis databases (tests/settings.py), which the processes their tests start share."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_tests.py"


@pytest.fixture
def run_tests(monkeypatch):
    spec = importlib.util.spec_from_file_location("run_tests", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv("PRESSROOM_TEST_WORKERS", raising=False)
    calls, answers = [], []

    def call(command):
        calls.append(command[3:])  # after `python -m pytest`
        assert command[:3] == [sys.executable, "-m", "pytest"]
        return answers.pop(0)

    monkeypatch.setattr(module.subprocess, "call", call)
    return module, calls, answers


def test_the_quick_tests_then_the_slow_ones_run_on_two_workers_with_the_same_args(run_tests):
    module, calls, answers = run_tests
    answers[:] = [0, 0]

    assert module.main(["-x", "tests/publishing"]) == 0
    assert calls == [["-m", "not slow", "-n", "2", "-x", "tests/publishing"],
                     ["-m", "slow", "-n", "2", "--dist", "worksteal", "-x", "tests/publishing"]]


def test_both_runs_always_run_and_the_first_failure_is_the_exit_status(run_tests):
    module, calls, answers = run_tests
    answers[:] = [1, 2]

    assert module.main([]) == 1
    assert len(calls) == 2


def test_a_run_that_selects_no_test_counts_as_passed(run_tests):
    module, calls, answers = run_tests
    answers[:] = [0, 5]  # pytest's "no tests collected": the args name no slow test
    assert module.main(["tests/config/test_env.py"]) == 0
    answers[:] = [5, 3]
    assert module.main(["tests/faults"]) == 3


def test_args_that_select_no_test_in_either_run_fail_as_pytest_fails_them(run_tests):
    module, calls, answers = run_tests
    answers[:] = [5, 5]  # `-k` with a typo: before, this passed with no test run at all
    assert module.main(["-k", "no_such_test"]) == 5
    answers[:] = [5]
    assert module.main(["--fast-only", "-k", "no_such_test"]) == 5


def test_fast_only_is_the_first_run_and_the_workers_can_be_set(run_tests, monkeypatch):
    module, calls, answers = run_tests
    monkeypatch.setenv("PRESSROOM_TEST_WORKERS", "4")
    answers[:] = [0]

    assert module.main(["--fast-only", "-k", "audit"]) == 0
    assert calls == [["-m", "not slow", "-n", "4", "-k", "audit"]]


def _redis_url_under(environment: dict, *, given_to_child: str | None = None) -> str:
    """REDIS_URL as a process started with `environment` sees it once it has loaded the test settings,
    and as a process that it starts in turn (with `given_to_child` as its REDIS_URL, if any) sees
    it: 'mine|child's', '' where it has none."""
    script = (
        "import os, subprocess, sys\n"
        "import tests.settings\n"
        f"given = {given_to_child!r}\n"
        "child = subprocess.run([sys.executable, '-c', 'import os, tests.settings; print(os.environ.get(\"REDIS_URL\", \"\"))'],"
        " env={**os.environ, **({'REDIS_URL': given} if given else {})}, capture_output=True, text=True, check=True)\n"
        "print(os.environ.get('REDIS_URL', '') + '|' + child.stdout.strip())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=SCRIPT.parents[1], capture_output=True, text=True,
                            env=environment, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_each_worker_has_a_redis_database_of_its_own_and_what_its_tests_start_shares_it():
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTEST_XDIST_WORKER", "PRESSROOM_TEST_STARTED_BY_WORKER", "REDIS_URL")}
    with_redis = {**environment, "REDIS_URL": "redis://127.0.0.1:6379/0"}

    assert _redis_url_under(with_redis) == "redis://127.0.0.1:6379/0|redis://127.0.0.1:6379/0"  # no xdist
    assert _redis_url_under({**with_redis, "PYTEST_XDIST_WORKER": "gw0"}) == (
        "redis://127.0.0.1:6379/1|redis://127.0.0.1:6379/1")  # the cluster a test starts: the worker's broker
    assert _redis_url_under({**with_redis, "PYTEST_XDIST_WORKER": "gw1"}) == (
        "redis://127.0.0.1:6379/2|redis://127.0.0.1:6379/2")
    assert _redis_url_under({**with_redis, "PYTEST_XDIST_WORKER": "gw1", "REDIS_URL": "redis://127.0.0.1:6379/15"}) == (
        "redis://127.0.0.1:6379/1|redis://127.0.0.1:6379/1")  # wraps at 16
    # A Redis server a test starts for its processes (tests/faults/), with or without REDIS_URL for the run.
    own_server = "redis://127.0.0.1:16390/0"
    assert _redis_url_under({**with_redis, "PYTEST_XDIST_WORKER": "gw1"}, given_to_child=own_server) == (
        f"redis://127.0.0.1:6379/2|{own_server}")
    assert _redis_url_under({**environment, "PYTEST_XDIST_WORKER": "gw1"}, given_to_child=own_server) == (
        f"|{own_server}")
