"""`/healthz` touches nothing; `/readyz` checks the database, the broker, the channel layer and
that a cluster reported in, and answers 503 naming what failed (never a 500), in bounded time.

The outages here are real connections that fail: a PostgreSQL or Redis address where nothing
listens (as a stopped server), never a stub of the check. The passing case needs a running
cluster: tests/tasks/test_metrics_cluster.py (slow)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.processes import free_port


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(queries) == 0


@pytest.mark.django_db
def test_readyz_lists_every_check_and_names_a_missing_cluster(client):
    """No cluster runs in this test process: the other checks pass, `cluster` fails."""
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["cluster"]
    assert body["checks"] == {"database": "ok", "broker": "ok", "channel_layer": "ok",
                              "cluster": "failed (RuntimeError)"}


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_the_database_when_it_is_down(client, stopped_database):
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "failed (OperationalError)"
    assert "database" in body["failed"]
    assert time.monotonic() - started < 15
    assert "127.0.0.1" not in response.content.decode(), "hosts and ports stay in the log"


def test_a_probe_that_finds_the_database_down_logs_a_warning_per_failed_check_and_no_error(
    client, stopped_database, caplog
):
    """A load balancer probes every few seconds through an outage: one WARNING per failed check,
    not Django's ERROR "Service Unavailable: /readyz" beside it for every probe."""
    caplog.set_level("INFO")
    assert client.get("/readyz").status_code == 503
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert any(r.name == "config.health" and r.levelname == "WARNING" and "database" in r.getMessage()
               for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_without_redis_a_database_outage_fails_the_checks_that_need_it_without_waiting_again(
        client, stopped_database, settings):
    settings.Q_CLUSTER = {**{k: v for k, v in settings.Q_CLUSTER.items() if k != "redis"}, "orm": "default"}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tasks.channel_layer.PostgresChannelLayer",
                                           "CONFIG": {"database": "default"}}}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "failed (OperationalError)",
        "broker": "failed (database unavailable)",
        "channel_layer": "failed (database unavailable)",
        "cluster": "failed (database unavailable)",
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_redis_is_down(client, settings):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": dead}
    settings.Q_CLUSTER.pop("orm", None)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"] == "failed (ConnectionError)"
    assert body["checks"]["database"] == "ok"
    assert {"broker", "cluster"} <= set(body["failed"])


@pytest.mark.django_db
def test_readyz_is_503_naming_the_channel_layer_when_its_redis_is_down(client, settings):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}},
    }
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("failed (")
    assert "channel_layer" in response.json()["failed"]
    assert time.monotonic() - started < 15


@pytest.mark.django_db
def test_readyz_channel_check_times_out_instead_of_hanging(client, settings, monkeypatch):
    """A layer that never delivers fails the check after PRESSROOM_READYZ_TIMEOUT_SECONDS."""
    import asyncio

    from channels.layers import InMemoryChannelLayer

    async def never(self, channel):
        await asyncio.sleep(3600)

    monkeypatch.setattr(InMemoryChannelLayer, "receive", never)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.PRESSROOM_READYZ_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.json()["checks"]["channel_layer"] == "failed (TimeoutError)"
    assert time.monotonic() - started < 5


@pytest.mark.django_db
def test_readyz_refuses_writes(client):
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_is_405_with_allow_even_under_csrf_checks(path, method):
    from django.test import Client

    response = getattr(Client(enforce_csrf_checks=True), method)(path)

    assert response.status_code == 405, response.content[:200]
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_readyz_counts_a_running_cluster_whose_clock_is_behind(client, settings):
    """A cluster's status carries its own machine's clock; the store keeps it 3 s by its own. A
    cluster two minutes behind the web server runs all the same, and `/readyz` says so."""
    import redis
    from django_q.conf import Conf
    from django_q.signing import SignedPackage
    from django_q.status import Status

    from tests.clocks import SKEW, clock_off_by

    with clock_off_by(-SKEW):
        status = Status(pid=1, cluster_id="skewed-cluster")  # stamped with that machine's clock
    status.status = Conf.IDLE
    client_ = redis.Redis.from_url(settings.Q_CLUSTER["redis"])
    key = f"{Conf.Q_STAT}:{status.cluster_id}"
    try:
        client_.set(key, SignedPackage.dumps(status, True), ex=3)  # as `Stat.save` does through the broker
        response = client.get("/readyz")
    finally:
        client_.delete(key)
        client_.close()
    assert response.json()["checks"]["cluster"] == "ok"
