"""Settings of the test run: the real settings, with a queue of this run's own and fast password
hashing.

Clusters that tests start inherit PRESSROOM_QUEUE_NAME from the environment set here, so their
wake-up jobs never mix with another run's or a `make run` on the same Redis. Processes the tests
start use tests/cluster_settings.py, which builds on this module, so they hash alike.
"""

import os
import uuid

os.environ.setdefault("PRESSROOM_QUEUE_NAME", f"pressroom-test-{uuid.uuid4().hex[:8]}")

# Media of this run's own, never the MEDIA_ROOT of `make run` (var/media): the tests write images
# there, and the daily housekeeping they run deletes every image no row of the test database names.
# Made by the first process of the run (processes it starts inherit MEDIA_ROOT) and removed at its exit.
if not os.environ.get("PRESSROOM_TEST_MEDIA_ROOT"):
    import atexit
    import shutil
    import tempfile

    os.environ["PRESSROOM_TEST_MEDIA_ROOT"] = os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="pressroom-test-media-")
    atexit.register(shutil.rmtree, os.environ["MEDIA_ROOT"], ignore_errors=True)

# Under pytest-xdist (`make test` runs both of its runs on two workers), each worker has a Redis
# database of its own, as it has a PostgreSQL test database of its own: every test empties the
# cache, and Redis empties a whole database at once. The numbers wrap at Redis's default 16
# databases (a REDIS_URL ending /15 gives the workers /0 and /1). Only the worker itself moves,
# and records it in PRESSROOM_TEST_STARTED_BY_WORKER: the processes its tests start (clusters,
# servers: tests/cluster_settings.py) inherit that and keep the REDIS_URL they inherit, or the one a
# test gives them (tests/faults/' own servers), so they share the worker's broker, cache and layer.
REDIS_DATABASES = 16
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER.startswith("gw") and not os.environ.get("PRESSROOM_TEST_STARTED_BY_WORKER"):
    os.environ["PRESSROOM_TEST_STARTED_BY_WORKER"] = _XDIST_WORKER
    if os.environ.get("REDIS_URL"):
        from urllib.parse import urlsplit, urlunsplit

        _redis = urlsplit(os.environ["REDIS_URL"])
        _base = int(_redis.path.strip("/") or 0)
        _database = (_base + 1 + int(_XDIST_WORKER[2:])) % REDIS_DATABASES
        os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{_database}"))

from config.settings import *  # noqa: E402,F401,F403

# Production's PBKDF2 is slow on purpose (about 0.3 s a password here); fixtures create hundreds
# of users. Never outside the tests: tests/config/test_password_hashing.py pins production's.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A second alias of the same test database, as the read replica (config/db_router.py): off unless a
# test names it in DATABASE_READ_REPLICA (tests/config/test_db_router.py); pytest-django creates
# one database for both aliases, since their test names are equal. A server a test starts with
# DATABASE_REPLICA_URL keeps that replica.
if "replica" not in DATABASES:
    DATABASES["replica"] = {
        **DATABASES["default"],
        "TEST": {"NAME": DATABASES["default"].get("TEST", {}).get("NAME") or f"test_{DATABASES['default']['NAME']}"},
    }

# Redis pub/sub channels are shared by all of a server's databases: under pytest-xdist each
# worker's channel layer publishes under a prefix of its own, or one worker's sockets would hear
# the other's events.
if _XDIST_WORKER.startswith("gw") and REDIS_URL:  # noqa: F405 - from config.settings
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"asgi-{_XDIST_WORKER}"  # noqa: F405
