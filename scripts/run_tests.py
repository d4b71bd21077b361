"""The suite as `make test` runs it: two pytest runs, one after the other.

    python scripts/run_tests.py [--fast-only] [PYTEST ARGS...]

Both runs use PRESSROOM_TEST_WORKERS pytest-xdist workers (default 2). Each worker has a test
database of its own (pytest-django), a Redis database and channel-layer prefix of its own
(tests/settings.py), and nothing else to share: the processes a test starts get free ports, its
own folders and its worker's databases.

1. The tests that start no process (`-m "not slow"`), shared out in batches (xdist's `load`).
2. The tests marked slow (clusters, servers, browsers, `make run`/`make serve`), handed out one at
   a time as workers free up (`worksteal`): they last from a second to a minute, and most of that
   is waiting (schedules, backoffs, grace periods), which two of them can do side by side. Their
   timeouts allow for a busy machine; none asserts a speed (the benchmarks do that, in `bench/`).

Both runs get the same PYTEST ARGS, and both always run; a run that selects no test (pytest's exit
status 5, e.g. `make test ARGS=tests/config/test_env.py`, which has no slow test) counts as
passed, unless no run selects any (5, as pytest answers). The exit status is the first failing
run's, else 0. `--fast-only` is `make test-fast`.
"""

from __future__ import annotations

import os
import subprocess
import sys

NO_TESTS_COLLECTED = 5


def pytest(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args])


def main(argv: list[str]) -> int:
    fast_only = "--fast-only" in argv
    args = [arg for arg in argv if arg != "--fast-only"]
    workers = os.environ.get("PRESSROOM_TEST_WORKERS", "2")
    statuses = [pytest("-m", "not slow", "-n", workers, *args)]
    if not fast_only:
        statuses.append(pytest("-m", "slow", "-n", workers, "--dist", "worksteal", *args))
    if all(status == NO_TESTS_COLLECTED for status in statuses):
        return NO_TESTS_COLLECTED  # ARGS that select nothing at all (a `-k` typo) are a failure, as for pytest
    return next((status for status in statuses if status not in (0, NO_TESTS_COLLECTED)), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
