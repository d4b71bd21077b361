"""The engine benchmark's baselines (bench/noop.py): what the durable-floor job really commits."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.noop import FLOOR_COMMITS, FLOOR_TABLE, FLOOR_TABLE_SQL, durable_floor


@pytest.mark.django_db(transaction=True)
def test_the_durable_floor_job_commits_seven_rows_in_seven_transactions():
    """Seven, as an engine task commits its claim, its first stage and five checkpoints: each
    row's xmin (the transaction that wrote it) differs, so each INSERT committed by itself."""
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLE_SQL)
        cursor.execute(f"TRUNCATE {FLOOR_TABLE}")
    try:
        durable_floor()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), count(DISTINCT xmin::text) FROM {FLOOR_TABLE}")
            assert cursor.fetchone() == (FLOOR_COMMITS, FLOOR_COMMITS) == (7, 7)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
