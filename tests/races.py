"""Forcing an interleaving of two database connections, for the race tests: never by sleeping."""

from __future__ import annotations

import threading

from django.db import connection, transaction


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def run_while_holding(hold, verb, *, then=None):
    """`verb()`'s result, or the error it raised, run on another connection while this one has run
    `hold()` in a transaction it keeps open; this one runs `then()` (when given) and commits once
    `verb` waits for one of its locks (checked at most 1,000 times, 10 ms apart), or finished
    without waiting."""
    ready = threading.Event()
    pid, outcome = [], []

    def run():
        try:
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            ready.wait(timeout=10)
            outcome.append(verb())
        except Exception as error:  # noqa: BLE001 - the test reports whatever happened
            outcome.append(error)
        finally:
            connection.close()

    other = threading.Thread(target=run)
    with transaction.atomic():
        hold()
        other.start()
        ready.set()
        for _ in range(1000):
            other.join(0.01)
            if not other.is_alive() or (pid and _waiting_on_a_lock(pid[0])):
                break
        if then is not None:
            then()
    other.join(30)
    assert not other.is_alive()
    assert len(outcome) == 1
    return outcome[0]
