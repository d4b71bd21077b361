"""The database cache (the default cache without Redis) writes a value in one statement and still
expires and culls entries as Django's does."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

pytestmark = pytest.mark.django_db

DATABASE_CACHE = {
    "BACKEND": "config.cache.PostgresDatabaseCache", "LOCATION": "pressroom_cache",
    "KEY_FUNCTION": "config.cache.storable_key", "KEY_PREFIX": "dbcache-test",
}


@pytest.fixture
def cache(request):
    options = getattr(request, "param", {})
    with override_settings(CACHES={"default": {**DATABASE_CACHE, "OPTIONS": options}}):
        yield caches["default"]


def rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pressroom_cache")
        return cursor.fetchone()[0]


def test_overwriting_a_value_is_one_statement(cache):
    cache.set("history", [1.0, 2.0], 60)

    with CaptureQueriesContext(connection) as queries:
        cache.set("history", [3.0], 60)

    assert len(queries) == 1, [query["sql"] for query in queries.captured_queries]
    assert cache.get("history") == [3.0]


def test_values_expire_and_none_keeps_them(cache):
    cache.set("gone", "x", 0)
    cache.set("kept", {"a": 1}, None)
    cache.set("later", b"\x00bytes", 3600)

    assert cache.get("gone") is None
    assert cache.get("kept") == {"a": 1}
    assert cache.get("later") == b"\x00bytes"
    assert cache.add("gone", "back", 60) is True  # an expired key counts as absent for add
    assert cache.get("gone") == "back"


@pytest.mark.parametrize("cache", [{"MAX_ENTRIES": 4, "CULL_FREQUENCY": 2}], indirect=True)
def test_new_keys_past_max_entries_cull_the_table(cache):
    cache.clear()
    for number in range(12):
        cache.set(f"key{number}", number, 60)

    assert rows() <= 5
    assert cache.get("key11") == 11


def test_an_entry_set_by_a_process_whose_clock_is_behind_lives_its_whole_timeout(cache):
    """Expiry is the database's clock, for the process that writes and every process that reads:
    a django-q2 cluster's status (kept 3 s) written on a machine a few seconds behind was expired
    on arrival for the web server's `/readyz`."""
    from tests.clocks import SKEW, clock_off_by

    with clock_off_by(-SKEW):
        cache.set("status", "running", 60)
    assert cache.get("status") == "running" and cache.has_key("status")


def test_an_entry_set_by_a_process_whose_clock_is_ahead_expires_on_time(cache):
    import time

    from tests.clocks import SKEW, clock_off_by

    with clock_off_by(+SKEW):
        cache.set("status", "running", 1)
    time.sleep(1.2)
    assert cache.get("status") is None and not cache.has_key("status")
