"""The Content-Security-Policy: on the blog, the admin and the API docs, and nothing inline to allow.

The header is read off real responses; the templates are read as files, so an inline script or
style added to any of them fails here before a browser ever blocks it (tests/config/
test_csp_browser.py checks that real pages raise no violation).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import make_task, make_user

BASE_DIR = Path(__file__).resolve().parents[2]
EXPECTED = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# A <script> that runs: no src, and not a data block (JSON / JSON-LD, which browsers never execute).
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc\s*=)(?![^>]*\btype\s*=\s*[\"']?application/(?:ld\+)?json)[^>]*>", re.IGNORECASE
)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _inline_script(html: str) -> list[str]:
    return [*INLINE_SCRIPT.findall(html), *EVENT_HANDLER.findall(html)]


def _inline_style(html: str) -> list[str]:
    return [*STYLE_ATTRIBUTE.findall(html), *STYLE_ELEMENT.findall(html)]


def _inline_code(html: str) -> list[str]:
    return _inline_script(html) + _inline_style(html)


def _templates() -> list[Path]:
    roots = [BASE_DIR / "templates", *(BASE_DIR / app / "templates" for app in ("config", "tasks", "content", "publishing"))]
    return sorted(path for root in roots if root.exists() for path in root.rglob("*.html"))


@pytest.mark.django_db
def test_the_blog_home_the_admin_login_and_the_api_docs_send_the_policy(editor_client):
    for client, url in [(Client(), "/"), (Client(), "/admin/login/"), (editor_client, "/api/docs")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _policy(response) == EXPECTED, url
        assert _inline_script(response.content.decode()) == [], url


@pytest.mark.django_db
def test_the_blog_home_the_admin_login_and_the_api_docs_have_no_inline_style(editor_client):
    for client, url in [(Client(), "/"), (Client(), "/admin/login/"), (editor_client, "/api/docs")]:
        assert _inline_style(client.get(url).content.decode()) == [], url


@pytest.mark.django_db
def test_a_task_page_of_the_admin_sends_the_policy_and_has_no_inline_code():
    admin = make_user(is_superuser=True)
    task = make_task(status="running", phase="draft", progress=30, created_by=admin)
    client = Client()
    client.force_login(admin)

    response = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk]))

    assert response.status_code == 200
    assert _policy(response) == EXPECTED
    html = response.content.decode()
    assert "data-live-task" in html
    assert _inline_code(html) == []


@pytest.mark.django_db
def test_swagger_ui_loads_its_initialising_script_from_a_url_of_its_own(editor_client):
    page = editor_client.get("/api/docs").content.decode()
    script_urls = re.findall(r'<script src="([^"]+)"', page)
    init = [url for url in script_urls if "script" in url.split("?", 1)[-1]]
    assert len(init) == 1, script_urls

    script = editor_client.get(init[0].replace("&amp;", "&"))

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
@override_settings(PRESSROOM_WEBSOCKET_URL="wss://ws.example.com")
def test_a_separate_websocket_origin_reaches_the_live_pages_data_attribute():
    admin = make_user(is_superuser=True)
    task = make_task(status="running", created_by=admin)
    client = Client()
    client.force_login(admin)

    html = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    assert 'data-socket-origin="wss://ws.example.com"' in html


def test_connect_src_allows_the_configured_websocket_origin(monkeypatch):
    import importlib

    from config import settings as project_settings

    monkeypatch.setenv("PRESSROOM_WEBSOCKET_URL", "ws://127.0.0.1:8001/")
    try:
        reloaded = importlib.reload(project_settings)
        assert reloaded.PRESSROOM_WEBSOCKET_URL == "ws://127.0.0.1:8001"
        assert reloaded.CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"] == ["'self'", "ws://127.0.0.1:8001"]
    finally:
        monkeypatch.delenv("PRESSROOM_WEBSOCKET_URL")
        importlib.reload(project_settings)


@pytest.mark.parametrize("value", ["http://example.com", "wss://ws.example.com/ws/", "example.com", "wss://"])
def test_a_websocket_url_that_is_not_an_origin_is_refused(value):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import websocket_origin

    with pytest.raises(ImproperlyConfigured):
        websocket_origin(value)


def _templates_with(find) -> dict[str, list[str]]:
    templates = _templates()
    assert len(templates) >= 10  # the scan reads the project's templates, not an empty folder
    return {str(path.relative_to(BASE_DIR)): found for path in templates if (found := find(path.read_text()))}


def test_no_template_has_an_inline_script_or_an_event_handler_attribute():
    assert _templates_with(_inline_script) == {}


def test_no_template_has_a_style_element_or_attribute():
    assert _templates_with(_inline_style) == {}


def test_the_scan_recognises_what_the_policy_would_block():
    assert _inline_code('<script>alert(1)</script>')
    assert _inline_code('<script type="module">go()</script>')
    assert _inline_code('<button onclick="go()">')
    assert _inline_code('<li style="margin-left: 1em">')
    assert _inline_code('<style>body { margin: 0 }</style>')
    assert not _inline_code('<script src="/static/a.js" defer></script>')
    assert not _inline_code('<script type="application/ld+json">{}</script>')
    assert not _inline_code('<script id="data" type="application/json">{}</script>')
    assert not _inline_code('<p data-on="x" class="online">')
