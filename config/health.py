"""Liveness and readiness probes for load balancers and orchestrators.

`/healthz` says the process answers and touches nothing else, so a database outage does not get
healthy web processes killed. `/readyz` says Pressroom can do its work, and names what it cannot:

- `database`: a query answers;
- `broker`: the task queue answers (the ORM broker's queue table, or Redis' PING);
- `channel_layer`: a message sent to a fresh channel comes back (progress reaches WebSockets);
- `cluster`: a django-q2 cluster reported in recently. Each cluster's sentinel saves its status
  (django-q2's `Stat`) through the broker every half second, kept 3 s; a status counts while the
  store still keeps it and it is not stopping. The store's clock decides "3 s" (Redis expires the
  key itself; the database cache compares with the database's time): the `timestamp` a status
  carries is its cluster's machine's clock and is not compared with this one's, which failed the
  check for a running cluster whose clock was behind by more than the allowance.

The answer is 200 with every check "ok", or 503 naming the failed checks (with the error's type;
the details, which may name hosts, go to the log only). Every check is
bounded by PRESSROOM_READYZ_TIMEOUT_SECONDS (a statement timeout, socket timeouts, a receive
timeout); connecting to PostgreSQL is bounded by the connect_timeout settings.py gives psycopg.
A check that raises anything is a failed check, never a 500; once the database has failed, the
checks that would go through it again are reported failed without waiting on it a second time.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


def _bounded_cursor():
    """A cursor in a transaction whose statements give up after the readiness timeout."""
    milliseconds = int(settings.PRESSROOM_READYZ_TIMEOUT_SECONDS * 1000)
    cursor = connection.cursor()
    # set_config(…, true) is SET LOCAL as a function: a utility statement takes no bound parameter.
    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(milliseconds)])
    return cursor


def check_database() -> None:
    with transaction.atomic(), _bounded_cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis_client(url: str):
    import redis

    timeout = settings.PRESSROOM_READYZ_TIMEOUT_SECONDS
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def check_broker() -> None:
    redis_url = settings.Q_CLUSTER.get("redis")
    if redis_url:
        client = _redis_client(redis_url)
        try:
            client.ping()
        finally:
            client.close()
        return
    with transaction.atomic(), _bounded_cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_q_ormq LIMIT 1")  # the ORM broker's queue table answers
        cursor.fetchall()


async def _channel_round_trip() -> None:
    """Send a message to a new channel of a layer instance of this call's own and receive it."""
    from channels.layers import channel_layers

    timeout = settings.PRESSROOM_READYZ_TIMEOUT_SECONDS
    layer = channel_layers.make_backend("default")
    try:
        channel = await asyncio.wait_for(layer.new_channel("readyz."), timeout)
        await asyncio.wait_for(layer.send(channel, {"type": "readyz.ping"}), timeout)
        message = await asyncio.wait_for(layer.receive(channel), timeout)
        if message.get("type") != "readyz.ping":
            raise RuntimeError("the channel layer returned another message than the one sent")
    finally:
        try:
            await asyncio.wait_for(layer.close_pools(), timeout)
        except Exception:  # noqa: BLE001 (the check's own result is what counts)
            logger.debug("Closing the readiness check's channel layer failed", exc_info=True)


def check_channel_layer() -> None:
    if "default" not in settings.CHANNEL_LAYERS:
        raise RuntimeError("no channel layer is configured")
    async_to_sync(_channel_round_trip)()


def _cluster_stats() -> list:
    """The status every running django-q2 cluster saved last (through the configured broker)."""
    from django_q.conf import Conf
    from django_q.signing import BadSignature, SignedPackage
    from django_q.status import Stat

    redis_url = settings.Q_CLUSTER.get("redis")
    if not redis_url:
        from django_q.brokers import get_broker

        return Stat.get_all(get_broker())
    client = _redis_client(redis_url)  # django-q2's own connection has no timeouts
    try:
        keys = list(client.scan_iter(match=f"{Conf.Q_STAT}:*", count=100))
        packs = client.mget(keys) if keys else []
    finally:
        client.close()
    stats = []
    for pack in packs:
        if pack is None:
            continue
        try:
            stats.append(SignedPackage.loads(pack))
        except BadSignature:
            continue
    return stats


def check_cluster() -> None:
    from django_q.conf import Conf

    alive = [stat for stat in _cluster_stats() if stat.status not in (Conf.STOPPING, Conf.STOPPED)]
    if not alive:
        raise RuntimeError("no task cluster reported in the last 3 s (start one with `manage.py qcluster`)")


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
    "cluster": check_cluster,
}


def _detail(error: Exception) -> str:
    """The error on one line, for the log (host names and ports stay out of the public answer)."""
    return " ".join(f"{type(error).__name__}: {error}".split())[:500]


def _on_the_database() -> set[str]:
    """The checks that go through PostgreSQL in this configuration (no Redis: the broker, the
    cluster statuses in the database cache, the PostgreSQL channel layer)."""
    names = set()
    if not settings.Q_CLUSTER.get("redis"):
        names |= {"broker", "cluster"}
    if "Postgres" in settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", ""):
        names.add("channel_layer")
    return names


@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@never_cache
@require_safe
def readyz(request):
    checks, failed = {}, []
    for name, check in CHECKS.items():
        if "database" in failed and name in _on_the_database():
            # Trying would wait for the same unreachable server again (up to its connect timeout).
            checks[name] = "failed (database unavailable)"
            failed.append(name)
            continue
        try:
            check()
        except Exception as error:  # noqa: BLE001 (any failure is "not ready", named, never a 500)
            checks[name] = f"failed ({type(error).__name__})"
            failed.append(name)
            logger.warning("Readiness check %s failed: %s", name, _detail(error))
            if name == "database":
                connection.close()  # a broken connection must not be reused by the next check or request
        else:
            checks[name] = "ok"
    if failed:
        response = JsonResponse({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
        # Each failed check logged its WARNING line above; Django would add an ERROR line
        # ("Service Unavailable: /readyz") for every probe of a load balancer through an outage.
        response._has_been_logged = True
        return response
    return JsonResponse({"status": "ok", "checks": checks})
