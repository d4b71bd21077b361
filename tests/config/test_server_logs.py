"""In production every line the web servers write is one JSON object in the log's format: Gunicorn's
own lines (config/gunicorn_logging.py) and, instead of Daphne's plain-text access log, each
request's and each WebSocket's lines (config/request_id.py). Real servers, started as
scripts/supervisor.py starts them."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.config.test_settings import PRODUCTION_ENV
from tests.processes import GunicornServer, WebServer, raw_get, raw_request, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Production settings (JSON lines by default), served on plain http://127.0.0.1 as a proxy would reach it.
# No static files are collected here, so the requests are the API's (a page's template would need the
# manifest of `collectstatic`).
PRODUCTION = {**PRODUCTION_ENV, "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "info",
              "PYTHONUNBUFFERED": "1"}
FIELDS = {"time", "level", "logger", "process", "task_id", "request_id", "message"}


def json_lines(output: str) -> list[dict]:
    """Every line of `output` as a JSON record with the log's fields; fails on any other line."""
    records = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}\n{output[-3000:]}")
        assert isinstance(record, dict) and FIELDS <= set(record), line
        records.append(record)
    return records


def test_gunicorn_writes_its_own_lines_as_json(tmp_path):
    server = GunicornServer(tmp_path, name="gunicorn-json-log", env=PRODUCTION)
    try:
        server.wait_until_ready()
        assert raw_get(server.port, "/api/no-such-endpoint").startswith(b"HTTP/1.1 404")
        assert raw_request(server.port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")  # refused by Gunicorn itself
    finally:
        server.stop()

    records = json_lines(server.output)
    gunicorn = [record["message"] for record in records if record["logger"] == "gunicorn.error"]
    assert any(message.startswith("Starting gunicorn") for message in gunicorn), gunicorn
    assert any(message.startswith("Booting worker with pid") for message in gunicorn), gunicorn
    assert any(message.startswith("Invalid request from ip=127.0.0.1") for message in gunicorn), gunicorn
    assert "Shutting down: Master" in gunicorn
    (request,) = [record for record in records if record["logger"] == "pressroom.request"]
    assert (request["path"], request["status"]) == ("/api/no-such-endpoint", 404)


def test_daphne_writes_requests_and_websockets_as_json_lines_and_no_access_log(tmp_path):
    server = WebServer(tmp_path, name="daphne-json-log", env=PRODUCTION)
    try:
        server.wait_until_ready()
        assert raw_get(server.port, "/api/no-such-endpoint").startswith(b"HTTP/1.1 404")
        with connect(f"ws://127.0.0.1:{server.port}/ws/tasks", open_timeout=10,
                     additional_headers={"X-Request-ID": "socket-probe-1"}) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4401  # no credentials
        wait_for(lambda: '"event": "closed"' in server.output, timeout=10, message="the socket's closing line")
    finally:
        server.stop()

    records = json_lines(server.output)
    requests = [record for record in records if record["logger"] == "pressroom.request"]
    assert [(record.get("path"), record.get("status"), record.get("event")) for record in requests] == [
        ("/api/no-such-endpoint", 404, None),
        ("/ws/tasks", None, "closed"),
    ], requests
    assert requests[-1]["close_code"] == 4401 and requests[-1]["closed_by"] == "server"
    assert requests[-1]["request_id"] == "socket-probe-1"
