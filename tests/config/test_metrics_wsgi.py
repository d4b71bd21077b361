"""config/metrics_wsgi.py, the application of a worker machine's metrics server: `/metrics` and
`/healthz` through the site's own view and rules, a 404 for every other path.

`make serve-workers` running it beside a cluster is tests/scripts/test_serve_workers.py (slow)."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from prometheus_client.parser import text_string_to_metric_families

from config.metrics_wsgi import application

TOKEN = "worker-metrics-token-0123456789"

# The site's WSGI handler closes the database connection at each request's end, as in production,
# so these tests cannot run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def token(settings):
    settings.PRESSROOM_METRICS_TOKEN = TOKEN
    settings.PRESSROOM_METRICS_NETWORKS = []
    settings.PROMETHEUS_MULTIPROC_DIR = ""


def call(method: str, path: str, **headers) -> tuple[str, dict, bytes]:
    environ = getattr(RequestFactory(), method.lower())(path, **headers).environ
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started.update(status=status, headers=dict(response_headers))

    body = b"".join(application(environ, start_response))
    return started["status"], started["headers"], body


def test_metrics_are_served_with_the_sites_access_rules():
    status, headers, body = call("GET", "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {"pressroom_tasks", "pressroom_stage_duration_seconds"} <= names

    assert call("GET", "/metrics")[0].startswith("401")
    assert call("GET", "/metrics", HTTP_AUTHORIZATION="Bearer wrong-token-wrong-token")[0].startswith("403")


def test_healthz_is_served():
    status, _, body = call("GET", "/healthz")
    assert status == "200 OK"


@pytest.mark.parametrize("path", ["/", "/admin/", "/admin/login/", "/api/tasks", "/api/posts", "/metrics/",
                                  "/static/admin/css/base.css", "/blog/", "/readyz", "/%00"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_other_path_is_not_found_without_reaching_the_site(path, method, monkeypatch):
    import config.metrics_wsgi

    monkeypatch.setattr(config.metrics_wsgi, "site_application", lambda *args: pytest.fail("reached the site"))
    status, headers, body = call(method, path)
    assert status == "404 Not Found"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"


def test_a_head_request_gets_no_body_on_any_path():
    """As the site's application (tests/config/test_wsgi.py): Gunicorn warns of a HEAD body it drops."""
    assert call("HEAD", "/healthz")[::2] == ("200 OK", b"")
    status, headers, body = call("HEAD", "/admin/")
    assert (status, body) == ("404 Not Found", b"")
    assert int(headers["Content-Length"]) == len(call("GET", "/admin/")[2])
