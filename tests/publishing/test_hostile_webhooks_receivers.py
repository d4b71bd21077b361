"""Webhook deliveries to hostile receivers: raw-socket servers on 127.0.0.1 that answer huge,
endless, broken or invalid HTTP. Every attempt ends recorded, within the attempt's own limit,
with a bounded error text; the worker never raises."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.utils import timezone

from publishing.webhooks import jobs
from publishing.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret-of-some-length"


class RawReceiver:
    """Accepts connections on 127.0.0.1, reads the request head and body, then calls `answer(conn)`;
    every loop is bounded, and each connection ends when the client hangs up."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int([line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")][0])
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(body)
            self.answer(conn, self._stop)
        except OSError:
            pass
        finally:
            conn.close()


@pytest.fixture
def allow_private(settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    settings.PRESSROOM_WEBHOOK_TIMEOUT_SECONDS = 1
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 0


def deliver_to(url: str) -> WebhookDelivery:
    subscription = WebhookSubscription.objects.create(name="Hostile", url=url, events=["task.completed"], secret=SECRET)
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_h",
                                              payload={"id": "evt_h"}, scheduled_at=timezone.now())
    jobs.deliver_webhook(delivery.pk)
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_ten_megabyte_answer_is_read_no_further_than_its_start(allow_private, enqueued):
    def answer(conn, stop):
        conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 10485760\r\n\r\n")
        chunk = b"\x00<script>alert(1)</script>" * 4000
        sent = 0
        while sent < 10_485_760 and not stop.is_set():
            conn.sendall(chunk[: 10_485_760 - sent])
            sent += len(chunk)

    with RawReceiver(answer) as receiver:
        delivery = deliver_to(receiver.url)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, 500)
    assert "\x00" not in delivery.error and len(delivery.error) <= 310


def test_an_endless_answer_to_a_success_is_a_success_recorded_in_time(allow_private, enqueued):
    def answer(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(100_000):
            if stop.is_set():
                return
            conn.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")

    with RawReceiver(answer) as receiver:
        delivery = deliver_to(receiver.url)
    assert (delivery.status, delivery.response_code, delivery.error) == (DeliveryStatus.SUCCEEDED, 200, "")


def test_a_body_dripped_a_byte_at_a_time_ends_the_attempt_at_its_limit(allow_private, enqueued):
    def answer(conn, stop):
        conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(200):
            if stop.is_set():
                return
            conn.sendall(b"z")
            time.sleep(0.05)

    with RawReceiver(answer) as receiver:
        delivery = deliver_to(receiver.url)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, 503)
    assert delivery.error.startswith("HTTP 503")


@pytest.mark.parametrize("garbage", [
    b"NOT HTTP AT ALL\r\n\r\n",
    b"HTTP/1.1 2000 Huge\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n",
    b"\x00\xff\xfe\r\n\r\n",
    b"",
])
def test_an_answer_that_is_not_http_is_a_failed_attempt_without_a_code(garbage, allow_private, enqueued):
    with RawReceiver(lambda conn, stop: conn.sendall(garbage)) as receiver:
        delivery = deliver_to(receiver.url)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, None)
    assert delivery.error and "\x00" not in delivery.error


def test_a_connection_closed_mid_body_after_a_success_status_counts_the_status(allow_private, enqueued):
    with RawReceiver(lambda conn, stop: conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 500\r\n\r\npartial")) \
            as receiver:
        delivery = deliver_to(receiver.url)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 202)


@pytest.mark.parametrize(("status", "outcome", "code"), [
    (101, DeliveryStatus.FAILED, None),  # an upgrade nobody asked for: a protocol error
    (199, DeliveryStatus.FAILED, None),  # informational, then no final answer
    (299, DeliveryStatus.SUCCEEDED, 299),
    (399, DeliveryStatus.FAILED, 399),
    (599, DeliveryStatus.FAILED, 599),
    (999, DeliveryStatus.FAILED, 999),
])
def test_unusual_status_codes_are_recorded_by_their_class(status, outcome, code, allow_private, enqueued):
    head = f"HTTP/1.1 {status} Whatever\r\nContent-Length: 2\r\n\r\nno".encode()
    with RawReceiver(lambda conn, stop: conn.sendall(head)) as receiver:
        delivery = deliver_to(receiver.url)
    assert (delivery.status, delivery.response_code) == (outcome, code)


def test_a_name_that_resolved_publicly_when_saved_and_privately_at_send_is_refused_unsent(
        enqueued, settings, monkeypatch):
    """The guard runs at every send: a receiver's DNS switched to this machine after the admin saved
    the subscription reaches nothing."""
    from publishing.webhooks import rules

    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = False
    answers = {"now": "93.184.216.34"}
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kwargs: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["now"], port))])
    with RawReceiver(lambda conn, stop: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) as receiver:
        url = f"http://hooks.example.com:{receiver.url.split(':')[2]}"
        assert rules.delivery_url(url) == url  # public when saved
        answers["now"] = "127.0.0.1"
        delivery = deliver_to(url)
        assert receiver.requests == []
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.FAILED, None)
    assert delivery.error.startswith("Refused:") and "127.0.0.1" not in delivery.error
