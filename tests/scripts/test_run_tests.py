"""`make test`'s two runs (scripts/run_tests.py): the tests that start no process on xdist workers,
then the slow ones alone; both always run, and a run that selects nothing counts as passed."""

import importlib.util
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


def test_the_quick_tests_run_on_two_workers_then_the_slow_ones_alone_with_the_same_args(run_tests):
    module, calls, answers = run_tests
    answers[:] = [0, 0]

    assert module.main(["-x", "tests/publishing"]) == 0
    assert calls == [["-m", "not slow", "-n", "2", "-x", "tests/publishing"], ["-m", "slow", "-x", "tests/publishing"]]


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
