"""Webhook subscriptions against hostile URLs: one that could never be delivered to (port 0, a
host name the sender cannot encode or that holds a space, an IPvFuture literal) is a form error
when it is typed, not a subscription whose every delivery fails until it is switched off."""

from __future__ import annotations

import socket

import pytest
from django.test import Client
from django.urls import reverse

from publishing.webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db

ADD = reverse("admin:publishing_webhooksubscription_add")


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """Every name resolves to one public address, without the network."""

    def resolve(host, port, *args, **kwargs):
        host.encode("idna")  # as the real resolver does: a name it cannot encode is a UnicodeError
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def form(url: str) -> dict:
    return {"name": "Receiver", "url": url, "events": ["task.completed"], "secret": "whsec_a-long-enough-secret",
            "active": "on"}


@pytest.mark.parametrize("url", [
    "https://hooks.example.com:0/pressroom",
    "https://8.8.8.8:0/",
    "https://xn--/",
    "https://hooks exa.example.com/",
    "https://\ufb01.example.com/",  # the "fi" ligature: the resolver folds it, the sender refuses it
    "http://[v1.x]/",
])
def test_a_url_no_delivery_could_reach_is_refused_when_typed(client, url):
    response = client.post(ADD, form(url))

    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", [
    "https://hooks.example.com:8443/pressroom",
    "https://b\u00fccher.example.com/hook",
    "https://xn--bcher-kva.example.com/hook",
    "https://[2606:4700::1111]/hook",
])
def test_deliverable_urls_with_ports_idn_and_ipv6_are_still_saved(client, url):
    response = client.post(ADD, form(url))

    assert response.status_code == 302
    assert WebhookSubscription.objects.get().url == url


def test_an_event_ticked_twice_in_the_body_is_stored_once(client):
    """The form's checkboxes send each event once; a crafted body sent one three times, and the
    subscription then listed it three times (the API keeps each once)."""
    body = {**form("https://hooks.example.com/pressroom"),
            "events": ["task.completed", "task.failed", "task.completed", "task.completed"]}

    response = client.post(ADD, body)

    assert response.status_code == 302
    assert WebhookSubscription.objects.get().events == ["task.completed", "task.failed"]
