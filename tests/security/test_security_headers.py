"""Security headers in production mode, on every kind of response: blog pages, feeds, the admin,
the API and its docs, and media files.

Production mode is what README's configuration table gives with `DEBUG=0` (HTTPS redirect, HSTS
with subdomains and preload, secure cookies); `check --deploy` being clean with those variables is
pinned in tests/config/test_settings.py, the policy's exact directives in tests/config/test_csp.py.
Media files are served so that a file with markup in it can never run as a page of our origin.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from publishing.models import Post
from tests.security.actors import make_actors, world

pytestmark = pytest.mark.django_db

HOST = "press.example.com"
PRODUCTION = {
    "DEBUG": False,
    "ALLOWED_HOSTS": [HOST],
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}
SCRIPT_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
SCRIPT_HTML = b"<!doctype html><script>alert(document.cookie)</script>"


@pytest.fixture
def production(settings, tmp_path):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    settings.MEDIA_ROOT = tmp_path
    users = make_actors()
    task = world("published", users["editor"])
    return users, task, Post.objects.get(task=task)


def get(path: str, user=None, *, session=False) -> object:
    client = Client(HTTP_HOST=HOST)
    headers = {}
    if user is not None and session:
        client.force_login(user)
    elif user is not None:
        headers["Authorization"] = f"Bearer {AccessToken.for_user(user)}"
    return client.get(path, secure=True, headers=headers)


def pages(users, post) -> dict:
    """path → (user, session?) of one response of every kind."""
    return {
        "/": (None, False),
        post.get_absolute_url(): (None, False),
        "/search/?q=compost": (None, False),
        "/feeds/rss/": (None, False),
        "/sitemap.xml": (None, False),
        "/admin/login/": (None, False),
        "/admin/": (users["reviewer"], True),
        f"/admin/tasks/generationtask/{post.task_id}/change/": (users["reviewer"], True),
        "/api/docs": (users["editor"], False),
        "/api/schema": (users["editor"], False),
        "/api/tasks": (users["editor"], False),
        "/api/posts": (None, False),
        "/api/auth/me": (None, False),  # a 401 carries them too
    }


def test_every_kind_of_response_carries_the_security_headers(production):
    users, task, post = production
    for path, (user, session) in pages(users, post).items():
        response = get(path, user, session=session)
        assert response.status_code in (200, 401), (path, response.status_code)
        headers = response.headers
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path


def test_plain_http_is_redirected_to_https(production):
    response = Client(HTTP_HOST=HOST).get("/")
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/"


def test_session_and_csrf_cookies_are_secure_and_the_session_cookie_is_http_only(production):
    users, _, _ = production
    client = Client(HTTP_HOST=HOST)
    client.get("/admin/login/", secure=True)
    assert client.cookies["csrftoken"]["secure"]
    client.post("/admin/login/", {"username": users["editor"].username, "password": "correct-horse-battery-staple",
                                  "csrfmiddlewaretoken": client.cookies["csrftoken"].value}, secure=True)
    session = client.cookies["sessionid"]
    assert session["secure"] and session["httponly"]


@pytest.mark.parametrize(("name", "content"), [("posts/evil.svg", SCRIPT_SVG), ("posts/evil.html", SCRIPT_HTML)])
def test_a_media_file_with_markup_is_never_rendered_as_a_page_of_ours(production, name, content):
    _, _, post = production
    post.featured_image.save(name.split("/")[1], ContentFile(content), save=False)
    Post.objects.filter(pk=post.pk).update(featured_image=post.featured_image.name)
    response = get(f"/media/{post.featured_image.name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_media_image_is_shown_inline_and_sandboxed(production):
    _, _, post = production
    post.featured_image.save("photo.png", ContentFile(b"\x89PNG fake"), save=False)
    Post.objects.filter(pk=post.pk).update(featured_image=post.featured_image.name)
    response = get(f"/media/{post.featured_image.name}")
    assert response["Content-Type"] == "image/png"
    assert not response.get("Content-Disposition", "").startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]
