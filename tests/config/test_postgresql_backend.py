"""config.postgresql: Django's backend, with a health check that sends nothing to a healthy connection.

Each test works on a connection of its own (not the test's transaction), and asks PostgreSQL what
that connection's server process last ran (`pg_stat_activity.query`) to tell whether the check
sent a statement.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_connection():
    conn = connections.create_connection("default")
    conn.settings_dict = {**conn.settings_dict, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    conn.ensure_connection()
    yield conn
    conn.close()


def backend_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def last_statement(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def terminate(pid: int, conn) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while not _socket_readable(conn) and time.monotonic() < deadline:
        time.sleep(0.01)


def _socket_readable(conn) -> bool:
    from config.postgresql.base import readable

    return readable(conn.connection)


def test_settings_use_the_backend(own_connection):
    assert type(own_connection).__module__ == "config.postgresql.base"


def test_a_healthy_idle_connection_is_usable_without_a_statement(own_connection):
    pid = backend_pid(own_connection)
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 'marker'")

    assert own_connection.is_usable() is True
    assert last_statement(pid) == "SELECT 'marker'"


def test_a_connection_the_server_ended_is_not_usable(own_connection):
    terminate(backend_pid(own_connection), own_connection)

    assert own_connection.is_usable() is False


def test_an_open_transaction_is_checked_by_select_1(own_connection):
    pid = backend_pid(own_connection)
    own_connection.connection.execute("BEGIN")  # a transaction the request left open

    assert own_connection.is_usable() is True
    assert last_statement(pid) == "SELECT 1"
    own_connection.connection.execute("ROLLBACK")


def test_a_closed_connection_is_not_usable(own_connection):
    own_connection.connection.close()

    assert own_connection.is_usable() is False


def test_the_next_request_reconnects_after_the_server_ended_the_connection(own_connection):
    """What a request does at its start (request_started → close_if_unusable_or_obsolete, then the
    health check before the first query): the dead connection is replaced, not used and failed."""
    old_pid = backend_pid(own_connection)
    terminate(old_pid, own_connection)

    own_connection.close_if_unusable_or_obsolete()
    new_pid = backend_pid(own_connection)

    assert new_pid != old_pid


def test_a_request_on_a_healthy_connection_keeps_it(own_connection):
    pid = backend_pid(own_connection)

    own_connection.close_if_unusable_or_obsolete()

    assert backend_pid(own_connection) == pid


def test_a_statement_run_five_times_is_prepared_on_its_connection(own_connection):
    """DATABASE_PREPARED_STATEMENTS (on by default): parameters bound by the server, and a
    statement PostgreSQL has parsed and planned five times is prepared for the connection's life."""
    statement = "SELECT %s::int + 1 AS answer_for_the_prepare_test"
    with own_connection.cursor() as cursor:
        for number in range(6):
            cursor.execute(statement, [number])
            assert cursor.fetchone() == (number + 1,)
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert any("answer_for_the_prepare_test" in text and "$1" in text for text in prepared), prepared


def test_the_channel_layer_connects_without_the_prepare_setting(settings):
    """psycopg's prepare_threshold is a connection argument, not a libpq option: the channel
    layer, which connects from a conninfo string, leaves it out."""
    from tasks.channel_layer import PostgresChannelLayer

    assert settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 5
    layer = PostgresChannelLayer()

    assert "prepare_threshold" not in layer.db_params
    assert "prepare_threshold" not in layer.django_db.db_params


def plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_statements_inside_are_planned_for_their_values_and_only_there():
    from config.postgresql.base import planned_for_its_values

    with planned_for_its_values():
        inside = plan_cache_mode()

    assert (inside, plan_cache_mode()) == ("force_custom_plan", "auto")


def test_an_error_inside_rolls_back_the_block_it_opened():
    from config.postgresql.base import planned_for_its_values

    with pytest.raises(LookupError), planned_for_its_values():
        assert connection.in_atomic_block
        raise LookupError

    assert not connection.in_atomic_block
    assert plan_cache_mode() == "auto"


def test_inside_a_callers_transaction_it_holds_to_that_ones_end_and_an_error_leaves_it_usable():
    """An admin page that answers 403 from inside the block must not doom the transaction around
    it (a test's, or a caller's `atomic`): no block of its own is opened there."""
    from django.db import transaction

    from config.postgresql.base import planned_for_its_values

    with transaction.atomic():
        with pytest.raises(LookupError), planned_for_its_values():
            raise LookupError
        assert plan_cache_mode() == "force_custom_plan"  # the caller's transaction still runs queries
    assert plan_cache_mode() == "auto"


def test_without_prepared_statements_nothing_is_sent(settings):
    from django.test.utils import CaptureQueriesContext

    from config.postgresql.base import planned_for_its_values

    options = connection.settings_dict["OPTIONS"]
    connection.settings_dict["OPTIONS"] = {key: value for key, value in options.items() if key != "prepare_threshold"}
    try:
        with CaptureQueriesContext(connection) as captured, planned_for_its_values():
            pass
    finally:
        connection.settings_dict["OPTIONS"] = options

    assert captured.captured_queries == []
