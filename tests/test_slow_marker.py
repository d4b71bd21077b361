"""The `slow` marker: tests that start processes carry it, so `make test-fast` can leave them out."""

from pathlib import Path

import pytest

from tests.processes import Cluster, WebServer
from tests.scripts.make_target import MakeTarget

BASE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("starter", [Cluster, WebServer, MakeTarget])
def test_an_unmarked_test_that_starts_a_process_fails(starter, tmp_path):
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.slow"):
        starter(tmp_path)


def test_make_test_and_make_test_fast_run_the_suite_through_run_tests():
    """What each run selects is tests/scripts/test_run_tests.py's to check."""
    recipes = (BASE_DIR / "Makefile").read_text()
    fast = recipes.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    whole = recipes.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert fast.rstrip().endswith("$(PY) scripts/run_tests.py --fast-only $(ARGS)")
    assert whole.rstrip().endswith("$(PY) scripts/run_tests.py $(ARGS)")
