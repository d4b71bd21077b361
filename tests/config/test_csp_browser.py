"""In Debian's Chromium, the pages that run scripts work under the Content-Security-Policy.

Daphne serves the site on the test database; a superuser signs in and opens the dashboard (with a
running task, so the live-progress script runs there too), a running task's page and the API docs.
Every page records `securitypolicyviolation` events from before its first script runs, and the
browser's console messages are collected: a blocked script, style or socket shows up in both.
A second run hands the pages a WebSocket origin of their own (PRESSROOM_WEBSOCKET_URL, Daphne on a
second port, as `make serve` runs it without a proxy): connect-src must let the socket open there,
and that server's origin check must admit the pages' origin, which `make serve` gives it.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, make_task, make_user
from tests.processes import WebServer, free_port
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_live_progress import chromium  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`));
"""


@pytest.fixture
def running_task():
    """A superuser and a task that stays running (no cluster takes it), made before the browser starts."""
    ensure_seed_data()
    admin = make_user("csp-admin", is_superuser=True)
    task = make_task(status="running", phase="draft", progress=30, created_by=admin)
    return admin, task


def _visit_pages(chromium, base_url: str, admin, task) -> dict:  # noqa: F811
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    sockets: list[str] = []
    violations: dict[str, list[str]] = {}
    page = context.new_page()
    page.on("console", lambda message: console.append(f"{message.type}: {message.text} ({message.location['url']})"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error} ({page.url})"))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)

    page.goto(f"{base_url}/admin/login/?next=/admin/")
    violations["login"] = page.evaluate("window.__cspViolations")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
    page.wait_for_function("() => window.pressroomLive && window.pressroomLive.transport === 'websocket'", timeout=30_000)
    violations["dashboard"] = page.evaluate("window.__cspViolations")

    page.goto(f"{base_url}{reverse('admin:tasks_generationtask_change', args=[task.pk])}")
    page.wait_for_function("() => window.pressroomLive && window.pressroomLive.transport === 'websocket'", timeout=30_000)
    violations["task page"] = page.evaluate("window.__cspViolations")

    page.goto(f"{base_url}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", state="visible", timeout=30_000)
    page.wait_for_load_state("networkidle")
    violations["api docs"] = page.evaluate("window.__cspViolations")
    operations = page.locator(".swagger-ui .opblock").count()
    context.close()
    # Chromium asks every site for /favicon.ico, which the admin does not link; its 404 is no failure.
    console = [message for message in console if not message.endswith("/favicon.ico)")]
    return {"failed": failed, "console": console, "violations": violations, "sockets": sockets, "operations": operations}


def test_admin_pages_and_api_docs_run_under_the_policy_without_a_violation(running_task, tmp_path, chromium):  # noqa: F811
    admin, task = running_task
    server = WebServer(tmp_path)
    try:
        server.wait_until_ready()
        seen = _visit_pages(chromium, server.url, admin, task)
    finally:
        server.stop()

    assert seen["violations"] == {"login": [], "dashboard": [], "task page": [], "api docs": []}
    assert seen["failed"] == []
    assert seen["console"] == []
    assert seen["operations"] > 5, "Swagger UI did not render the API's operations"
    origin = server.url.replace("http://", "ws://")
    assert f"{origin}/ws/tasks" in seen["sockets"]  # the dashboard's running-tasks list
    assert any(url.startswith(f"{origin}/ws/tasks/{task.pk}?") for url in seen["sockets"]), seen["sockets"]


def test_live_pages_open_their_sockets_on_the_configured_websocket_origin(running_task, tmp_path, chromium):  # noqa: F811
    admin, task = running_task
    pages_port = free_port()
    # As `make serve` runs it: the pages' origin (scheme, host and port) is trusted by the socket server.
    ws_server = WebServer(tmp_path, name="daphne-ws", env={"CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{pages_port}"})
    ws_origin = f"ws://127.0.0.1:{ws_server.port}"
    pages = None
    try:
        ws_server.wait_until_ready()
        pages = WebServer(tmp_path, port=pages_port, env={"PRESSROOM_WEBSOCKET_URL": ws_origin})
        pages.wait_until_ready()
        seen = _visit_pages(chromium, pages.url, admin, task)
    finally:
        if pages:
            pages.stop()
        ws_server.stop()

    assert seen["violations"] == {"login": [], "dashboard": [], "task page": [], "api docs": []}
    assert seen["failed"] == []
    assert seen["console"] == []
    assert seen["sockets"] and all(url.startswith(f"{ws_origin}/ws/tasks") for url in seen["sockets"]), seen["sockets"]
