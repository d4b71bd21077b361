"""In Debian's Chromium: when the task socket is refused (4401, 4403, 4404), the live-progress page
stops for good (no reconnect, no polling) and says why in words a person can act on; when the
user's other pages hold every socket one user may open (4429), it polls and keeps trying its socket.

Daphne serves the site; the page's WebSocket is replaced by one that opens and is then closed by
the server with the code under test (the codes themselves are pinned against the consumers in
test_websocket_access.py and test_websocket_recheck.py). It counts the sockets the page opens.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.config.test_csp_browser import running_task  # noqa: F401  (a superuser and a running task)
from tests.processes import WebServer
from tests.tasks.test_admin_live_progress import _log_in, chromium  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Opens, then is closed by the "server" with window.__closeCode; counts the sockets made.
REFUSING_WEBSOCKET = """
window.__socketAttempts = 0;
window.WebSocket = class {
    constructor() {
        window.__socketAttempts += 1;
        this.readyState = 0;
        setTimeout(() => { this.readyState = 1; this.onopen && this.onopen({}); }, 20);
        setTimeout(() => { this.readyState = 3; this.onclose && this.onclose({code: CODE}); }, 60);
    }
    send() {}
    close() {}
};
window.WebSocket.OPEN = 1;
"""

MESSAGES = {
    4401: "Your session has ended — log in again to follow this task.",
    4403: "You no longer have access to this task.",
    4404: "This task does not exist, or you may not see it.",
}


def test_a_refused_socket_stops_the_live_page_with_a_readable_message(running_task, tmp_path, chromium):  # noqa: F811
    admin, task = running_task
    server = WebServer(tmp_path)
    seen = {}
    try:
        server.wait_until_ready()
        for code in MESSAGES:
            context = chromium.new_context()
            context.add_init_script(REFUSING_WEBSOCKET.replace("CODE", str(code)))
            requests: list[str] = []
            context.on("request", lambda request, requests=requests: requests.append(request.url))
            page = context.new_page()
            _log_in(page, server.url, admin)
            page.goto(f"{server.url}{reverse('admin:tasks_generationtask_change', args=[task.pk])}")
            notice = page.locator("[data-live-task] [data-role=notice]")
            notice.wait_for(state="visible", timeout=30_000)
            page.wait_for_timeout(3000)  # longer than the first reconnect's backoff and a poll's interval
            seen[code] = {
                "notice": notice.text_content(),
                "sockets": page.evaluate("window.__socketAttempts"),
                "event reads": len([url for url in requests if f"/api/tasks/{task.pk}/events" in url]),
            }
            context.close()
    finally:
        server.stop()

    assert seen == {code: {"notice": text, "sockets": 1, "event reads": 1} for code, text in MESSAGES.items()}


def test_a_socket_refused_for_too_many_open_pages_falls_back_to_polling_and_keeps_trying(
        running_task, tmp_path, chromium):  # noqa: F811
    """4429: the user already holds PRESSROOM_WS_MAX_SOCKETS_PER_USER sockets (many open pages).
    The page went on reconnecting with its backoff, each socket opened and closed again, and was
    never updated meanwhile (polling started only after sockets that failed to open)."""
    admin, task = running_task
    server = WebServer(tmp_path)
    try:
        server.wait_until_ready()
        context = chromium.new_context()
        context.add_init_script(REFUSING_WEBSOCKET.replace("CODE", "4429"))
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        _log_in(page, server.url, admin)
        page.goto(f"{server.url}{reverse('admin:tasks_generationtask_change', args=[task.pk])}")
        connection = page.locator("[data-live-task] [data-role=connection]")
        for _ in range(300):  # the first retry comes after its backoff, about 1 s
            if page.evaluate("window.__socketAttempts") >= 2:
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(4000)  # longer than a poll's interval (3 s)
        shown = {
            "connection": connection.text_content(),
            "notice": page.locator("[data-live-task] [data-role=notice]").is_visible(),
            "polled": len([url for url in requests if f"/api/tasks/{task.pk}/events" in url]) >= 3,
        }
        context.close()
    finally:
        server.stop()

    assert shown == {"connection": "Live (checking every few seconds)", "notice": False, "polled": True}
