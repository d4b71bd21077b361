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
from datetime import timezone as dt_timezone

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils import timezone

MAX_KEY_LENGTH = 250  # memcached's limit, and below the cache table's 255


def storable_key(key: str, key_prefix: str, version: int) -> str:
    """Django's `make_key` (`prefix:version:key`), with an unstorable key replaced by its SHA-256."""
    made = f"{key_prefix}:{version}:{key}"
    if len(made) <= MAX_KEY_LENGTH and all(32 < ord(char) != 127 for char in made):
        return made
    digest = hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key_prefix}:{version}:sha256:{digest}"


class PostgresDatabaseCache(DatabaseCache):
    """Django's database cache (the default cache without Redis), with `set` in one statement.

    Django's `set` counts the whole table (to cull it), then selects the key and updates or inserts
    it in a transaction of its own: five round trips, paid by every throttled request when the
    throttle stores its history. PostgreSQL's `INSERT … ON CONFLICT DO UPDATE` writes the value in
    one, and cannot race with a concurrent writer of the same key. The table grows only when a key
    is new (`xmax = 0` on the written row), so only then is it counted, in the same statement,
    and, past MAX_ENTRIES, culled as Django does. Reads, `add`, `touch` and deletes are Django's.
    """

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        expires = datetime.max if timeout is None else datetime.fromtimestamp(timeout, tz=dt_timezone.utc)
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            # The count reads the table as it was before the insert (a data-modifying CTE's rows
            # are not visible to the rest of its statement), hence + 1 for a new key.
            cursor.execute(
                f"WITH written AS (INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "
                "ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires "
                f"RETURNING (xmax = 0) AS inserted) "
                f"SELECT CASE WHEN inserted THEN (SELECT count(*) FROM {table}) + 1 ELSE 0 END FROM written",
                [key, encoded, connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))],
            )
            count = cursor.fetchone()[0]
            if count > self._max_entries:
                self._cull(db, cursor, timezone.now().replace(microsecond=0), count)


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
