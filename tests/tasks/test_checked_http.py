"""Connecting only to a URL's checked addresses, in turn, with the name kept for Host."""

import http.server
import ipaddress
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from django.core.exceptions import ValidationError

from tasks.checked_http import CheckedURL, checked_url, send_to_checked_addresses
from tasks.http_deadline import ExchangeDeadline


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 only (so 127.0.0.2 refuses its port) recording each Host."""
    hosts = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], hosts
    httpd.shutdown()
    httpd.server_close()


@contextmanager
def never_accepting(address: str, port: int):
    """A port at `address` whose accept queue is full, so a new connection is never answered and
    the client's connect timeout runs out (an address that drops packets)."""
    listener = socket.socket()
    listener.bind((address, port))
    listener.listen(0)
    fillers = [socket.socket() for _ in range(3)]
    for filler in fillers:
        filler.setblocking(False)
        filler.connect_ex((address, port))
    time.sleep(0.1)
    try:
        yield
    finally:
        for opened in (*fillers, listener):
            opened.close()


def target(port: int, *addresses: str) -> CheckedURL:
    return CheckedURL(url=httpx.URL(f"http://news.example:{port}/hook"),
                      addresses=tuple(ipaddress.ip_address(address) for address in addresses))


def _sent_and_read(client, to: CheckedURL, deadline, *, headers=None) -> httpx.Response:
    """POST b"payload" to the first of `to`'s addresses that takes it; the answer read and closed."""
    response = send_to_checked_addresses(client, "POST", to, deadline, headers=headers, content=b"payload")
    try:
        response.read()
    finally:
        response.close()
    return response


def test_the_request_goes_to_the_first_checked_address_that_answers_with_the_name_as_host(server):
    port, hosts = server
    with ExchangeDeadline(10) as deadline, httpx.Client(timeout=5) as client:
        response = _sent_and_read(client, target(port, "127.0.0.2", "127.0.0.1"), deadline, headers={"X-Test": "1"})

    assert (response.status_code, response.content) == (200, b"payload")
    assert hosts == [f"news.example:{port}"]


def test_an_address_that_does_not_answer_in_time_is_passed_over_for_the_next(server):
    port, hosts = server
    with (never_accepting("127.0.0.2", port), ExchangeDeadline(10) as deadline,
          httpx.Client(timeout=httpx.Timeout(5, connect=0.5)) as client):
        response = _sent_and_read(client, target(port, "127.0.0.2", "127.0.0.1"), deadline)

    assert (response.status_code, response.content) == (200, b"payload")
    assert hosts == [f"news.example:{port}"]


def test_when_no_checked_address_answers_the_last_connection_error_is_raised(server):
    port, hosts = server
    with ExchangeDeadline(10) as deadline, httpx.Client(timeout=5) as client, pytest.raises(httpx.ConnectError):
        send_to_checked_addresses(client, "POST", target(port, "127.0.0.2", "127.0.0.3"), deadline, content=b"x")
    assert hosts == []


def test_no_address_is_tried_once_the_deadline_has_passed(server):
    port, hosts = server
    deadline = ExchangeDeadline(10)
    deadline.ends_at = 0  # already over
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.ConnectError):
        send_to_checked_addresses(client, "POST", target(port, "127.0.0.1"), deadline, content=b"x")
    assert hosts == []


def test_a_url_is_checked_with_its_addresses_and_refused_as_the_url_guard_refuses_it(settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = False

    checked = checked_url("  http://93.184.215.14:8080/feed  ")
    with pytest.raises(ValidationError, match="not a public address"):
        checked_url("http://10.0.0.1/hook")

    assert checked.addresses == (ipaddress.ip_address("93.184.215.14"),)
    assert checked.host_header == "93.184.215.14:8080"
