"""What the benchmark scripts' end-to-end tests share."""

from __future__ import annotations

import os

import psycopg
import pytest

from bench.harness import database_name, with_database_name


@pytest.fixture
def bench_database(request):
    """A benchmark database named after this run's own and the test module
    (`test_cluster_scaling` → `<db>_bench_cluster_scaling`), dropped before (a run killed midway
    left it seeded) and afterwards."""
    url = os.environ["DATABASE_URL"]
    name = f"{database_name(url)}_bench_{request.module.__name__.rsplit('.', 1)[-1].removeprefix('test_')}"

    def drop():
        with psycopg.connect(with_database_name(url, "postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    yield name
    drop()
