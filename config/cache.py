"""Cache keys every backend can store, whatever a request put in them; the database cache's writes.

Throttles key their counters on what the client sends (the address DRF reads from
`X-Forwarded-For`, a scope, a user id); a NUL or a 20,000-character header would end up in the
key, which PostgreSQL's cache table cannot store (a 500 on the next request) and memcached would
refuse. Such a key is replaced by its digest, here, once for every user of the cache; ordinary
keys are left as Django builds them. Without Redis the cache is a PostgreSQL table, written by
`PostgresDatabaseCache` in one statement per `set`; with Redis it is Django's Redis cache, with
one redis-py client per connection pool (`RedisCache`).
"""

from __future__ import annotations

import base64
import hashlib
import pickle
from datetime import datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router

MAX_KEY_LENGTH = 250  # memcached's limit, and below the cache table's 255


def storable_key(key: str, key_prefix: str, version: int) -> str:
    """Django's `make_key` (`prefix:version:key`), with an unstorable key replaced by its SHA-256."""
    made = f"{key_prefix}:{version}:{key}"
    if len(made) <= MAX_KEY_LENGTH and all(32 < ord(char) != 127 for char in made):
        return made
    digest = hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key_prefix}:{version}:sha256:{digest}"


class PostgresDatabaseCache(DatabaseCache):
    """Django's database cache (the default cache without Redis), with `set` in one statement and
    expiry on the database's clock.

    Django's `set` counts the whole table (to cull it), then selects the key and updates or inserts
    it in a transaction of its own: five round trips, paid by every throttled request when the
    throttle stores its history. PostgreSQL's `INSERT … ON CONFLICT DO UPDATE` writes the value in
    one, and cannot race with a concurrent writer of the same key. The table grows only when a key
    is new (`xmax = 0` on the written row), so only then is it counted, in the same statement,
    and, past MAX_ENTRIES, culled as Django does. `add`, `touch` and deletes are Django's.

    Django computes `expires` from the writing process's clock and compares it with the reading
    one's; with processes on several machines, an entry lived its timeout plus or minus their
    skew (a django-q2 cluster's status, kept 3 s, was expired on arrival for a web server a few
    seconds ahead, and `/readyz` failed). Here `set` writes `expires` as the database's time plus
    the timeout, and `get`, `get_many` and `has_key` compare it with the database's time, in their
    statements: one clock for every process. (`add` and `touch` keep Django's: nothing here adds
    or touches an entry that expires.)
    """

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        seconds = self._seconds(timeout)
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        if seconds is None:
            expires, params = "%s", [connection.ops.adapt_datetimefield_value(datetime.max.replace(microsecond=0))]
        else:
            expires, params = "statement_timestamp() + %s * interval '1 second'", [seconds]
        with connection.cursor() as cursor:
            # The count reads the table as it was before the insert (a data-modifying CTE's rows
            # are not visible to the rest of its statement), hence + 1 for a new key.
            cursor.execute(
                f"WITH written AS (INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, {expires}) "
                "ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires "
                f"RETURNING (xmax = 0) AS inserted) "
                f"SELECT CASE WHEN inserted THEN (SELECT count(*) FROM {table}) + 1 ELSE 0 END, "
                "statement_timestamp() FROM written",
                [key, encoded, *params],
            )
            count, now = cursor.fetchone()
            if count > self._max_entries:
                self._cull(db, cursor, now, count)

    def _seconds(self, timeout) -> float | None:
        """`timeout` in seconds from now, as Django's `get_backend_timeout` reads it (the default,
        None for never, 0 for already expired), but relative: the database adds its own time."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        return -1 if timeout == 0 else float(timeout)

    def get_many(self, keys, version=None):
        """Django's, with whether an entry expired decided in the query, by the database's clock."""
        if not keys:
            return {}
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}
        connection = connections[router.db_for_read(self.cache_model_class)]
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT cache_key, value, expires < statement_timestamp() FROM {table} "
                f"WHERE cache_key IN ({', '.join(['%s'] * len(key_map))})",
                list(key_map),
            )
            rows = cursor.fetchall()
        found, expired = {}, []
        for key, value, has_expired in rows:
            if has_expired:
                expired.append(key)
            else:
                value = connection.ops.process_clob(value)
                found[key_map.get(key)] = pickle.loads(base64.b64decode(value.encode()))
        self._base_delete_many(expired)
        return found

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_read(self.cache_model_class)]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(self._table)} "
                           "WHERE cache_key = %s AND expires > statement_timestamp()", [key])
            return cursor.fetchone() is not None


class RedisCacheClient(django_redis.RedisCacheClient):
    """Django's Redis cache client, handing out one redis-py client per connection pool.

    Django's builds a new `redis.Redis` for every cache call, and redis-py's constructor copies its
    table of ~170 response callbacks into a new case-insensitive dict each time: ~0.15 ms of CPU
    per call, two calls per throttled API request. A client holds no connection of its own (it
    borrows one from the pool per command, and the pool starts afresh in a forked process), so one
    per pool serves every thread.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))  # pools live as long as this object: ids stay theirs
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache with `RedisCacheClient` above (the cache with `REDIS_URL` set)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
