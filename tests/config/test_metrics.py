"""`GET /metrics`: off unless configured, guarded by a token and/or networks, Prometheus' text
format with the database's values and the in-process observations (tasks.metrics).

The run through two worker processes is tests/tasks/test_metrics_cluster.py (slow)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from tasks import metrics as task_metrics
from tasks.exceptions import PermanentError, TaskCancelled, TransientError
from tests.factories import make_task

TOKEN = "s3cret-metrics-token-0123456789"


@pytest.fixture
def token(settings):
    settings.PRESSROOM_METRICS_TOKEN = TOKEN
    settings.PRESSROOM_METRICS_NETWORKS = []
    settings.PROMETHEUS_MULTIPROC_DIR = ""


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_are_off_without_a_token_or_networks(client, settings):
    settings.PRESSROOM_METRICS_TOKEN = ""
    settings.PRESSROOM_METRICS_NETWORKS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_a_missing_token_is_asked_for(client, token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("header", [
    "Bearer wrong-token-wrong-token",
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
    "Bearer " + "A" * 10_000,
    "Bearer tökén-ünïcode-🔑",
    f"Basic {TOKEN}",
])
def test_a_wrong_token_is_refused_never_a_500(client, token, header):
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["message"]


def test_the_token_may_only_be_read_not_posted(client, token):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


@pytest.mark.django_db
def test_networks_alone_let_an_address_inside_scrape(client, settings):
    settings.PRESSROOM_METRICS_TOKEN = ""
    settings.PRESSROOM_METRICS_NETWORKS = ["10.1.0.0/16"]
    settings.PROMETHEUS_MULTIPROC_DIR = ""
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    outside = client.get("/metrics", REMOTE_ADDR="10.2.0.1")
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db
def test_networks_read_the_client_address_not_a_forwarded_header_from_anyone(client, settings):
    settings.PRESSROOM_METRICS_TOKEN = ""
    settings.PRESSROOM_METRICS_NETWORKS = ["10.1.0.0/16"]
    settings.PRESSROOM_TRUSTED_PROXIES = []
    spoofed = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert spoofed.status_code == 403
    settings.PRESSROOM_TRUSTED_PROXIES = ["192.0.2.10"]
    via_proxy = client.get("/metrics", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert via_proxy.status_code == 200


@pytest.mark.django_db
def test_with_token_and_networks_both_are_needed(client, settings):
    settings.PRESSROOM_METRICS_TOKEN = TOKEN
    settings.PRESSROOM_METRICS_NETWORKS = ["10.1.0.0/16"]
    settings.PROMETHEUS_MULTIPROC_DIR = ""
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="10.9.9.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_queue_depth_outcomes_tokens_and_cost_come_from_the_database(client, token, settings):
    for status, count in (("queued", 3), ("running", 1), ("completed", 2), ("failed", 1)):
        for _ in range(count):
            make_task(status=status, input_tokens=100, output_tokens=40, actual_cost=Decimal("0.012500"),
                      **({"finished_at": "2026-01-01T00:00:00Z"} if status in ("completed", "failed") else {}))
    with CaptureQueriesContext(connection) as queries:
        values = scrape(client)
    collectors = len(settings.PRESSROOM_METRICS_COLLECTORS)
    assert len(queries) == collectors, "one aggregate query per database collector per scrape"
    assert values[("pressroom_tasks", (("status", "queued"),))] == 3
    assert values[("pressroom_tasks", (("status", "running"),))] == 1
    assert values[("pressroom_tasks", (("status", "cancelled"),))] == 0
    assert values[("pressroom_tasks_finished_total", (("outcome", "completed"),))] == 2
    assert values[("pressroom_tasks_finished_total", (("outcome", "failed"),))] == 1
    assert values[("pressroom_tasks_finished_total", (("outcome", "timed_out"),))] == 0
    assert ("pressroom_tasks_finished_total", (("outcome", "queued"),)) not in values
    assert values[("pressroom_model_tokens_total", (("direction", "input"),))] == 700
    assert values[("pressroom_model_tokens_total", (("direction", "output"),))] == 280
    assert values[("pressroom_model_cost_total", ())] == pytest.approx(0.0875)


@pytest.mark.django_db
def test_observations_of_this_process_are_exposed(client, token):
    before = scrape(client)
    task_metrics.observe_stage("draft", 1.7, "ok")
    with pytest.raises(TransientError), task_metrics.observe_provider_call("openai_compatible"):
        raise TransientError("HTTP 503")
    with task_metrics.observe_provider_call("openai_compatible"):
        pass
    after = scrape(client)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("pressroom_stage_duration_seconds_count", stage="draft", outcome="ok") == 1
    assert grew("pressroom_stage_duration_seconds_bucket", stage="draft", outcome="ok", le="2.5") == 1
    assert grew("pressroom_stage_duration_seconds_bucket", stage="draft", outcome="ok", le="1.0") == 0
    assert grew("pressroom_provider_calls_total", provider="openai_compatible") == 2
    assert grew("pressroom_provider_errors_total", provider="openai_compatible") == 1


def sample(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(("error", "outcome"), [
    (None, "ok"), (TaskCancelled("x"), "cancelled"), (TransientError("x"), "transient_error"),
    (PermanentError("x"), "permanent_error"), (ValueError("x"), "error"),
])
def test_a_timed_stage_records_its_outcome_and_lets_errors_through(error, outcome):
    before = sample("pressroom_stage_duration_seconds_count", stage="probe", outcome=outcome)
    if error is None:
        with task_metrics.timed_stage("probe"):
            pass
    else:
        with pytest.raises(type(error)), task_metrics.timed_stage("probe"):
            raise error
    assert sample("pressroom_stage_duration_seconds_count", stage="probe", outcome=outcome) == before + 1


def test_a_provider_call_stopped_by_the_task_is_no_provider_error():
    before = sample("pressroom_provider_errors_total", provider="probe")
    with pytest.raises(TaskCancelled), task_metrics.observe_provider_call("probe"):
        raise TaskCancelled("cancelled")
    assert sample("pressroom_provider_errors_total", provider="probe") == before


def test_websocket_gauge_counts_each_socket_once():
    class Consumer:
        pass

    first, second = Consumer(), Consumer()
    start = sample("pressroom_websocket_connections")
    task_metrics.websocket_opened(first)
    task_metrics.websocket_opened(second)
    assert sample("pressroom_websocket_connections") == start + 2
    task_metrics.websocket_closed(first)
    task_metrics.websocket_closed(first)  # disconnect twice: counted down once
    task_metrics.websocket_closed(Consumer())  # never opened: not counted down
    assert sample("pressroom_websocket_connections") == start + 1
    task_metrics.websocket_closed(second)
    assert sample("pressroom_websocket_connections") == start


class DeliveriesCollector:
    """A collector another app would plug in through PRESSROOM_METRICS_COLLECTORS."""

    def collect(self):
        family = GaugeMetricFamily("pressroom_test_plugged_in", "A plugged-in collector.", labels=["kind"])
        family.add_metric(["probe"], 42)
        yield family


@pytest.mark.django_db
def test_collectors_are_pluggable_through_the_setting(client, token, settings):
    settings.PRESSROOM_METRICS_COLLECTORS = [*settings.PRESSROOM_METRICS_COLLECTORS,
                                             "tests.config.test_metrics.DeliveriesCollector"]
    values = scrape(client)
    assert values[("pressroom_test_plugged_in", (("kind", "probe"),))] == 42
    assert ("pressroom_tasks", (("status", "queued"),)) in values


@pytest.mark.parametrize("value", ["short-token", "sixteen chars ok", "tökén-tökén-tökén-tökén"])
def test_a_weak_or_unsendable_metrics_token_stops_the_start(value):
    from tests.config.test_settings import _manage

    result = _manage("check", PRESSROOM_METRICS_TOKEN=value)
    assert result.returncode != 0
    assert "PRESSROOM_METRICS_TOKEN must be at least 16 printable ASCII characters" in result.stderr


def test_malformed_metrics_networks_stop_the_start_by_name():
    from tests.config.test_settings import _manage

    result = _manage("check", PRESSROOM_METRICS_NETWORKS="10.0.0.0/8, not-a-network")
    assert result.returncode != 0
    assert "PRESSROOM_METRICS_NETWORKS: 'not-a-network' is not an IP address" in result.stderr


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_write_is_405_with_allow_even_under_csrf_checks(token, method):
    from django.test import Client

    response = getattr(Client(enforce_csrf_checks=True), method)("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405, response.content[:200]
    assert response["Allow"] == "GET, HEAD"
