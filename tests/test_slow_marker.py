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


def test_make_test_fast_runs_everything_not_marked_slow_and_make_test_everything():
    recipes = (BASE_DIR / "Makefile").read_text()
    assert '$(PY) -m pytest -m "not slow" $(ARGS)' in recipes.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert recipes.split("\ntest:", 1)[1].split("\n\n", 1)[0].rstrip().endswith("$(PY) -m pytest $(ARGS)")
