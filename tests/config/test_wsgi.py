"""config/wsgi.py, the application Gunicorn serves: a HEAD request gets GET's status and headers
(its Content-Length too) and no body, whatever answers it (a page, a feed, the API, a media file,
a 404, a refusal before Django), so Gunicorn has no body to drop and warn about.

The NUL-header refusal of the same application is tests/security/test_hostile_headers.py."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from config.wsgi import application
from publishing.models import Post

# The site's WSGI handler closes the database connection at each request's end, as in production,
# so these tests cannot run inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

PATHS = {"/": "200 OK", "/posts/composting/": "200 OK", "/feeds/rss/": "200 OK", "/robots.txt": "200 OK",
         "/healthz": "200 OK", "/api/posts": "200 OK", "/api/posts/composting": "200 OK",
         "/media/posts/heap.png": "200 OK", "/no-such-page/": "404 Not Found", "/api/no-such-thing": "404 Not Found",
         "/admin/": "302 Found"}


@pytest.fixture(autouse=True)
def published_post(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "heap.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    Post.objects.create(title="Composting", slug="composting", body="Compost heaps.", featured_image="posts/heap.png",
                        published_at=timezone.now() - timedelta(hours=1))


def call(method: str, path: str, **extra) -> tuple[str, dict, bytes]:
    environ = RequestFactory().generic(method, path, **extra).environ
    environ["wsgi.input"] = io.BytesIO()
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started.update(status=status, headers=dict(response_headers))

    result = application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return started["status"], started["headers"], body


@pytest.mark.parametrize("path", PATHS)
def test_a_head_request_gets_the_status_and_headers_of_get_and_no_body(path):
    """Found by a sweep through Gunicorn: Django hands the server GET's body for HEAD, and Gunicorn
    logged "WSGI app sent body bytes on a no-body response" (a WARNING) for every HEAD request."""
    get_status, get_headers, get_body = call("GET", path)

    status, headers, body = call("HEAD", path)

    assert body == b""
    assert status == get_status == PATHS[path]
    assert headers.get("Content-Length") == get_headers.get("Content-Length") == str(len(get_body))
    assert headers["Content-Type"] == get_headers["Content-Type"]


def test_a_head_request_refused_before_django_has_no_body_either():
    status, headers, body = call("HEAD", "/", HTTP_COOKIE="sessionid=\x00")

    assert (status, body) == ("400 Bad Request", b"")
    assert int(headers["Content-Length"]) > 0


def test_get_and_post_keep_their_bodies():
    assert b"Composting" in call("GET", "/posts/composting/")[2]
    assert call("POST", "/api/posts")[2].startswith(b'{"error"')
