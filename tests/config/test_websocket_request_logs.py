"""Each WebSocket connection's request id and log lines (config/request_id.py, WebSocketRequestLog),
which replace Daphne's plain-text access log; and the lines of requests the NUL-header wrappers
refuse before the request log's middleware (config/query_guard.py)."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from config.asgi import application  # imported first: it configures logging before the fixture's handler
from config.query_guard import RejectNulHeadersAsgi, RejectNulHeadersWsgi
from config.request_id import WebSocketRequestLog
from tests.config.test_request_logs import json_log  # noqa: F401 (a fixture)

TIMEOUT = 5
inner_logger = logging.getLogger("tests.websocket.inner")


async def accept_and_wait(scope, receive, send):
    """An application that accepts, says so in the log, and runs until the client leaves."""
    assert (await receive())["type"] == "websocket.connect"
    inner_logger.warning("inside the connection")
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def accept_then_close(scope, receive, send):
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 4401})
    assert (await receive())["type"] == "websocket.disconnect"


async def close_before_accepting(scope, receive, send):
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.close", "code": 4000})


async def wait_for_the_handshake(scope, receive, send):
    await receive()  # the client leaves before anything is decided
    await receive()


def connection(app, path: str = "/ws/tasks/7/", *, headers=(), client=("203.0.113.9", 50000)) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(WebSocketRequestLog(app), path, headers=list(headers))
    ws.scope["client"] = client  # as Daphne gives it; the application has not started yet
    return ws


def request_lines(json_log) -> list[dict]:
    return [line for line in json_log() if line["logger"] == "pressroom.request"]


def test_a_connection_writes_one_line_when_the_client_closes_it(json_log):
    async def scenario():
        ws = connection(accept_and_wait, headers=[(b"x-request-id", b"edge-42")])
        assert (await ws.connect(timeout=TIMEOUT))[0]
        await ws.disconnect(code=1001, timeout=TIMEOUT)

    async_to_sync(scenario)()
    (closed,) = request_lines(json_log)
    assert closed["message"].startswith("WebSocket /ws/tasks/7/ closed 1001 by the client after ")
    assert (closed["event"], closed["close_code"], closed["closed_by"]) == ("closed", 1001, "client")
    assert closed["level"] == "INFO" and closed["path"] == "/ws/tasks/7/"
    assert isinstance(closed["duration_ms"], float)
    assert {line["request_id"] for line in json_log()} == {"edge-42"}, "the application's own line carries it too"


def test_the_moment_a_connection_is_accepted_is_a_debug_line(json_log):
    logging.getLogger().setLevel(logging.DEBUG)  # the fixture puts the level back

    async def scenario():
        ws = connection(accept_and_wait)
        assert (await ws.connect(timeout=TIMEOUT))[0]
        await ws.disconnect(timeout=TIMEOUT)

    async_to_sync(scenario)()
    accepted, closed = request_lines(json_log)
    assert accepted["message"] == "WebSocket /ws/tasks/7/ accepted" and accepted["level"] == "DEBUG"
    assert (accepted["event"], accepted["status"], accepted["path"]) == ("accepted", 101, "/ws/tasks/7/")
    assert closed["event"] == "closed" and accepted["request_id"] == closed["request_id"]


def test_a_connection_the_server_closes_says_the_code(json_log):
    async def scenario():
        ws = connection(accept_then_close)
        assert (await ws.connect(timeout=TIMEOUT))[0]
        assert (await ws.receive_output(timeout=TIMEOUT))["code"] == 4401
        await ws.disconnect(code=4401, timeout=TIMEOUT)

    async_to_sync(scenario)()
    closed = request_lines(json_log)[-1]
    assert (closed["event"], closed["close_code"], closed["closed_by"]) == ("closed", 4401, "server")
    assert closed["message"].startswith("WebSocket /ws/tasks/7/ closed 4401 by the server after ")


def test_a_connection_closed_before_it_was_accepted_is_logged_as_refused(json_log):
    async def scenario():
        ws = connection(close_before_accepting)
        assert not (await ws.connect(timeout=TIMEOUT))[0]

    async_to_sync(scenario)()
    (refused,) = request_lines(json_log)
    assert refused["message"] == "WebSocket /ws/tasks/7/ refused (closed 4000 before it was accepted: 403)"
    assert (refused["event"], refused["status"], refused["close_code"]) == ("refused", 403, 4000)


def test_a_client_that_leaves_during_the_handshake_is_logged(json_log):
    async def scenario():
        ws = connection(wait_for_the_handshake)
        await ws.send_input({"type": "websocket.connect"})
        await ws.send_input({"type": "websocket.disconnect", "code": 1006})
        await ws.wait(timeout=TIMEOUT)

    async_to_sync(scenario)()
    (ended,) = request_lines(json_log)
    assert ended["message"] == "WebSocket /ws/tasks/7/ ended before it was accepted"
    assert (ended["event"], ended["closed_by"], ended["close_code"]) == ("ended", "client", 1006)


@pytest.mark.parametrize("hostile", [b"abc\x00def", b"abc\ndef", b"A" * 10_000, b"\xff\xfe", b""])
def test_a_hostile_request_id_is_replaced_and_never_logged(json_log, hostile):
    async def scenario():
        ws = connection(accept_and_wait, headers=[(b"x-request-id", hostile)])
        assert (await ws.connect(timeout=TIMEOUT))[0]
        await ws.disconnect(timeout=TIMEOUT)

    async_to_sync(scenario)()
    ids = {line["request_id"] for line in json_log()}
    assert len(ids) == 1
    (chosen,) = ids
    assert len(chosen) == 32 and chosen.isalnum()
    if hostile:
        assert hostile.decode("latin-1") not in json_log.raw()


def test_with_trusted_proxies_only_they_may_set_the_request_id(json_log, settings):
    settings.PRESSROOM_TRUSTED_PROXIES = ["192.0.2.10"]

    async def scenario():
        for client in [("203.0.113.7", 1), ("192.0.2.10", 2)]:
            ws = connection(accept_and_wait, headers=[(b"x-request-id", b"chosen-upstream")], client=client)
            assert (await ws.connect(timeout=TIMEOUT))[0]
            await ws.disconnect(timeout=TIMEOUT)

    async_to_sync(scenario)()
    first, second = [line["request_id"] for line in request_lines(json_log)]
    assert first != "chosen-upstream" and second == "chosen-upstream"


def test_the_path_is_logged_percent_encoded(json_log):
    async def scenario():
        ws = connection(accept_and_wait, path="/ws/tasks/1%0A%7B%22forged%22%3A1%7D/")
        assert (await ws.connect(timeout=TIMEOUT))[0]
        await ws.disconnect(timeout=TIMEOUT)

    async_to_sync(scenario)()
    assert {line["path"] for line in request_lines(json_log)} == {"/ws/tasks/1%0A%7B%22forged%22:1%7D/"}


def test_http_passes_through_untouched(json_log):
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    async_to_sync(WebSocketRequestLog(app))({"type": "http", "path": "/"}, None, None)
    assert seen == ["http"] and request_lines(json_log) == []


def test_the_wsgi_wrapper_logs_the_request_it_refuses_for_nul_in_a_header(json_log):
    answered = []
    body = RejectNulHeadersWsgi(lambda environ, start_response: pytest.fail("the application ran"))(
        {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/tasks", "HTTP_X_THING": "a\x00b"},
        lambda status, headers: answered.append(status),
    )
    assert answered == ["400 Bad Request"] and b"NUL" in b"".join(body)
    (line,) = request_lines(json_log)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/api/tasks", 400)
    assert line["message"] == "POST /api/tasks 400 (a request header holds NUL)"


def test_the_asgi_wrapper_logs_the_request_it_refuses_for_nul_in_a_header(json_log):
    sent = []

    async def send(message):
        sent.append(message)

    async def refuse():
        scope = {"type": "http", "method": "GET", "path": "/posts/\n", "headers": [(b"cookie", b"a\x00b")]}
        await RejectNulHeadersAsgi(lambda *args: pytest.fail("the application ran"))(scope, None, send)

    async_to_sync(refuse)()
    assert sent[0]["status"] == 400
    (line,) = request_lines(json_log)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/posts/%0A", 400)


def test_the_application_logs_its_websocket_connections(json_log):
    """config.asgi puts the log in front of the WebSocket routes: a socket without credentials is
    accepted, then closed 4401 by the server (tasks/consumers.py), and its line says so."""

    async def scenario():
        ws = WebsocketCommunicator(application, "/ws/tasks", headers=[(b"x-request-id", b"probe-1")])
        assert (await ws.connect(timeout=TIMEOUT))[0]
        assert (await ws.receive_output(timeout=TIMEOUT))["code"] == 4401
        await ws.disconnect(code=4401, timeout=TIMEOUT)

    async_to_sync(scenario)()
    (closed,) = request_lines(json_log)
    assert (closed["event"], closed["close_code"], closed["closed_by"], closed["request_id"]) == ("closed", 4401, "server", "probe-1")
