"""Structured logs: JSON lines in production (text in development), each with the request id of
the request being served (X-Request-ID, believed only when safe) and the id of the task being run."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings as django_settings

from tasks.engine.runner import run_claimed_task
from tasks.services import claim_next_task
from tests.config.test_settings import PRODUCTION_ENV, _manage
from tests.factories import submit_task
from tests.seed import ensure_seed_data


@pytest.fixture
def json_log():
    """The root logger's lines, formatted by the production JSON handler of settings.LOGGING."""
    stream = io.StringIO()
    config = django_settings.LOGGING
    formatter_config = dict(config["formatters"]["json"])
    factory = formatter_config.pop("()")
    from django.utils.module_loading import import_string

    handler = logging.StreamHandler(stream)
    handler.setFormatter(import_string(factory)(**formatter_config))
    handler.addFilter(import_string(config["filters"]["log_context"]["()"])())
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    lines.raw = stream.getvalue
    yield lines
    root.removeHandler(handler)
    root.setLevel(saved_level)


@pytest.mark.django_db
def test_a_request_writes_a_json_line_with_its_request_id(client, json_log):
    response = client.get("/healthz/nothing-here")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    lines = [line for line in json_log() if line["logger"] == "pressroom.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == request_id
    assert line["task_id"] == "-"
    assert line["level"] == "INFO"
    assert line["status"] == 404 and line["method"] == "GET" and line["path"] == "/healthz/nothing-here"
    assert {"time", "process", "message"} <= set(line)


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id(client, json_log):
    client.get("/api/no-such-endpoint", HTTP_X_REQUEST_ID="edge-proxy-id.42")
    by_logger = {line["logger"]: line for line in json_log()}
    assert by_logger["django.request"]["request_id"] == "edge-proxy-id.42"  # Django's "Not Found" warning
    assert by_logger["pressroom.request"]["request_id"] == "edge-proxy-id.42"


@pytest.mark.django_db
def test_a_safe_request_id_is_kept_and_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="0b6f1c2e-9a4d-4e0a-a1b2-c3d4e5f60718")
    assert response["X-Request-ID"] == "0b6f1c2e-9a4d-4e0a-a1b2-c3d4e5f60718"


@pytest.mark.django_db
@pytest.mark.parametrize("hostile", [
    "abc\x00def",
    "A" * 10_000,
    "abc\ndef",
    "abc\r\nX-Injected: 1",
    'quote"brace}',
    "ünïcode",
    "",
    "a" * 65,
])
def test_a_hostile_request_id_is_replaced_and_never_logged(client, json_log, hostile):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=hostile)
    assert response.status_code in (200, 400)  # a NUL in a header is refused (config/query_guard.py)
    replaced = response["X-Request-ID"]
    assert replaced != hostile and len(replaced) == 32 and replaced.isalnum()
    if hostile:
        assert hostile not in json_log.raw()
    assert all(line["request_id"] == replaced for line in json_log())


@pytest.mark.django_db
def test_with_trusted_proxies_only_they_may_set_the_request_id(client, settings):
    settings.PRESSROOM_TRUSTED_PROXIES = ["192.0.2.10"]
    from_client = client.get("/healthz", REMOTE_ADDR="203.0.113.7", HTTP_X_REQUEST_ID="chosen-by-client")
    assert from_client["X-Request-ID"] != "chosen-by-client"
    from_proxy = client.get("/healthz", REMOTE_ADDR="192.0.2.10", HTTP_X_REQUEST_ID="set-by-proxy")
    assert from_proxy["X-Request-ID"] == "set-by-proxy"


def test_the_request_id_does_not_leak_into_the_next_request(client, json_log):
    client.get("/healthz", HTTP_X_REQUEST_ID="first-request")
    logging.getLogger("tests.after").warning("between requests")
    assert json_log()[-1]["request_id"] == "-"


@pytest.mark.django_db(transaction=True)
def test_a_task_run_logs_carry_its_task_id(settings, json_log):
    settings.PRESSROOM_TASK_TYPES = {"blog_post": "tests.tasks.stages.TEST_STAGES"}
    settings.PRESSROOM_HEARTBEAT_SECONDS = 1
    ensure_seed_data()
    task = submit_task()
    claimed = claim_next_task(worker="log-test")
    assert claimed.pk == task.pk
    start = len(json_log())
    assert run_claimed_task(claimed.pk, worker="log-test") == "completed"
    run_lines = [line for line in json_log()[start:] if line["logger"].startswith("tasks.")]
    assert any("Running attempt" in line["message"] for line in run_lines)
    assert any("Finished: completed" in line["message"] for line in run_lines)
    assert {line["task_id"] for line in run_lines} == {str(task.pk)}


PROBE = "import logging; logging.getLogger('probe').warning('hello from the probe')"


def _probe_line(**env) -> str:
    result = _manage("shell", "-c", PROBE, **env)
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stderr.splitlines() if "hello from the probe" in line)


def test_production_logs_json_lines_and_development_readable_text():
    line = json.loads(_probe_line(**PRODUCTION_ENV))
    assert line["message"] == "hello from the probe" and line["level"] == "WARNING" and line["logger"] == "probe"
    assert line["task_id"] == "-" and line["request_id"] == "-"
    text = _probe_line(DEBUG="1")
    assert " WARNING probe " in text and text.endswith(" task=- request=- hello from the probe")


@pytest.mark.parametrize(("choice", "is_json"), [("text", False), ("JSON", True)])
def test_the_log_format_can_be_chosen(choice, is_json):
    line = _probe_line(**PRODUCTION_ENV, PRESSROOM_LOG_FORMAT=choice)
    assert line.startswith("{") is is_json


def test_an_unknown_log_format_stops_the_start_by_name():
    result = _manage("check", PRESSROOM_LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "PRESSROOM_LOG_FORMAT must be one of json, text" in result.stderr
