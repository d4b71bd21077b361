"""Live progress in the oversight hub: the panel on a task's page and the changelist's live cells.

The first tests read the pages as the server renders them (what an editor sees without
JavaScript, and the hooks live-progress.js relies on). The browser tests start Daphne and a
django-q2 cluster on the test database and drive Debian's Chromium through Playwright: an editor
watches a running task finish without reloading the page, over the WebSocket (required: Daphne
serves it), by polling only when the socket never opens, and across a restart of the web server.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from publishing.roles import EDITORS, REVIEWERS
from tasks.selectors import format_duration
from tasks.models import GenerationTask, TaskEvent
from tests.factories import PASSWORD, make_task, make_user, submit_task
from tests.processes import Cluster, WebServer, wait_for
from tests.seed import ensure_seed_data

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.fixture
def clock(monkeypatch):
    """`timezone.now()` under the test's control, so event times and "now" are known."""

    class Clock:
        now = START

        def at(self, seconds: float) -> None:
            self.now = START + timedelta(seconds=seconds)

    fake = Clock()
    monkeypatch.setattr(timezone, "now", lambda: fake.now)
    return fake


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _record(clock, task, seconds: float, kind: str, status: str, phase: str = "", progress: int = 0, message=""):
    clock.at(seconds)
    sequence = task.events.count() + 1
    TaskEvent.objects.create(
        task=task, sequence=sequence, kind=kind, status=status, phase=phase, progress=progress, message=message
    )
    GenerationTask.objects.filter(pk=task.pk).update(event_sequence=sequence)


def _change_page(user, task):
    return _client(user).get(reverse("admin:tasks_generationtask_change", args=[task.pk]))


def _timeline(response) -> dict:
    return {step["phase"]: (step["state"], step["duration"]) for step in response.context["live_panel"]["timeline"]}


def _phases(**reached) -> dict:
    """The whole timeline, in order: the phases given, every other one still pending."""
    return {phase: reached.get(phase, ("pending", "")) for phase in ("research", "draft", "qa", "image", "format")}


@pytest.mark.django_db
def test_task_page_renders_the_progress_panel_with_the_running_phase_timed_to_now(superuser, clock):
    task = make_task(status="running", phase="draft", progress=37)
    _record(clock, task, 0, "created", "queued", message="Task queued.")
    _record(clock, task, 1, "status", "running", message="Attempt 1 of 3 started.")
    _record(clock, task, 2, "phase", "running", "research")
    _record(clock, task, 7, "progress", "running", "research", 12)
    _record(clock, task, 12, "phase", "running", "draft", 12)
    _record(clock, task, 20, "progress", "running", "draft", 37)
    clock.at(77)

    response = _change_page(superuser, task)

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<progress[^>]*role="progressbar"[^>]*aria-valuenow="37"', html, re.S)
    assert 'data-role="percent">37%<' in html
    assert 'data-role="status">Running<' in html
    assert 'data-role="phase">Draft<' in html
    assert _timeline(response) == _phases(research=("done", "10 s"), draft=("running", "1 min 05 s"))
    assert re.search(r'data-phase="draft" data-state="running">\s*<span[^>]*>Draft</span>\s*'
                     r'<span[^>]*data-role="duration">1 min 05 s</span>', html)
    assert 'data-role="error" hidden' in html


@pytest.mark.django_db
def test_task_page_gives_the_script_its_addresses_in_data_attributes_and_no_inline_script(superuser):
    task = make_task(status="queued", event_sequence=4)

    response = _change_page(superuser, task)

    html = response.content.decode()
    assert f'data-task-id="{task.pk}"' in html
    assert f'data-events-url="/api/tasks/{task.pk}/events"' in html
    assert f'data-task-url="/api/tasks/{task.pk}"' in html
    assert f'data-socket-path="/ws/tasks/{task.pk}"' in html
    assert 'data-sequence="4"' in html
    assert re.search(r'<script src="/static/tasks/live-progress\.js" defer>', html)
    assert 'href="/static/tasks/live-progress.css"' in html
    assert not INLINE_SCRIPT.findall(html)


@pytest.mark.django_db
def test_a_failed_task_shows_its_error_and_the_phase_it_stopped_in(superuser, clock):
    task = make_task(status="failed", phase="qa", progress=50, error="The model refused the prompt.", finished_at=START)
    _record(clock, task, 0, "created", "queued")
    _record(clock, task, 1, "phase", "running", "research")
    _record(clock, task, 4, "phase", "running", "draft", 12)
    _record(clock, task, 64, "phase", "running", "qa", 50)
    _record(clock, task, 70, "status", "failed", "qa", 50, message="The model refused the prompt.")
    clock.at(500)

    response = _change_page(superuser, task)

    html = response.content.decode()
    assert '<p class="live-progress__error" data-role="error">The model refused the prompt.</p>' in html
    assert 'data-role="status">Failed<' in html
    assert _timeline(response) == _phases(research=("done", "3 s"), draft=("done", "1 min 00 s"), qa=("stopped", "6 s"))


@pytest.mark.django_db
def test_a_completed_task_shows_a_full_bar_and_every_phase_done(superuser, clock):
    task = make_task(status="completed", phase="", progress=100, finished_at=START)
    _record(clock, task, 0, "created", "queued")
    for offset, phase in enumerate(["research", "draft", "qa", "image", "format"]):
        _record(clock, task, 1 + 2 * offset, "phase", "running", phase, 20 * offset)
    _record(clock, task, 3725, "status", "completed", "", 100)

    response = _change_page(superuser, task)

    html = response.content.decode()
    assert re.search(r'aria-valuenow="100"', html)
    assert 'data-role="status">Completed<' in html
    assert 'data-role="phase">—<' in html
    timeline = _timeline(response)
    assert {state for state, _ in timeline.values()} == {"done"}
    assert timeline["format"] == ("done", "1 h 01 min")


@pytest.mark.django_db
def test_a_phase_entered_again_by_a_retry_counts_only_the_time_inside_each_attempt(superuser, clock):
    task = make_task(status="running", phase="draft", progress=12)
    _record(clock, task, 0, "phase", "running", "research")
    _record(clock, task, 5, "phase", "running", "draft", 12)
    _record(clock, task, 8, "status", "failed", "draft", 12)
    _record(clock, task, 30, "status", "queued", "", 12, message="Requeued by editor.")
    _record(clock, task, 31, "status", "running", "", 12, message="Attempt 2 of 3 started.")
    _record(clock, task, 32, "phase", "running", "draft", 12)
    clock.at(40)

    response = _change_page(superuser, task)

    # 3 s in the first attempt and 8 s so far in the second; the 24 s between them are no one's.
    assert _timeline(response)["draft"] == ("running", "11 s")


@pytest.mark.django_db
def test_two_runs_of_a_phase_minutes_apart_take_their_own_time_not_the_gap(superuser, clock):
    task = make_task(status="completed", phase="", progress=100, finished_at=START)
    _record(clock, task, 0, "status", "running", message="Attempt 1 of 3 started.")
    _record(clock, task, 0, "phase", "running", "draft", 10)
    _record(clock, task, 0, "status", "failed", "draft", 10, message="Provider down.")
    _record(clock, task, 180, "status", "queued", "", 10, message="Requeued by editor.")
    _record(clock, task, 180, "status", "running", "", 10, message="Attempt 2 of 3 started.")
    _record(clock, task, 180, "phase", "running", "draft", 10)
    _record(clock, task, 180, "phase", "running", "qa", 50)
    _record(clock, task, 181, "status", "completed", "", 100)
    clock.at(400)

    timeline = _timeline(_change_page(superuser, task))

    assert timeline["draft"] == ("done", "0 s")
    assert timeline["qa"] == ("done", "1 s")
    assert not any("min" in duration for _, duration in timeline.values())


@pytest.mark.django_db
def test_the_add_page_has_no_progress_panel(superuser):
    response = _client(superuser).get(reverse("admin:tasks_generationtask_add"))

    assert response.status_code == 200
    assert "live_panel" not in response.context
    assert "data-live-task" not in response.content.decode()


@pytest.mark.django_db
def test_changelist_marks_status_phase_and_progress_cells_with_the_task_id(superuser):
    task = make_task(status="running", phase="qa", progress=62, event_sequence=9)

    response = _client(superuser).get(reverse("admin:tasks_generationtask_changelist"))

    html = response.content.decode()
    for field, value, text in [("status", "running", "Running"), ("phase", "qa", "Quality check"),
                               ("progress", "62", "62%")]:
        assert re.search(
            rf'<span class="task-live task-{field}" data-task-id="{task.pk}" data-field="{field}" '
            rf'data-value="{value}" data-sequence="9">.*?<span class="task-live__text">{text}</span>',
            html,
        ), field
    assert 'data-live-task-list data-socket-path="/ws/tasks" data-tasks-url="/api/tasks"' in " ".join(html.split())
    assert re.search(r'<script src="/static/tasks/live-progress\.js" defer>', html)
    assert not INLINE_SCRIPT.findall(html)


def test_durations_read_as_seconds_minutes_or_hours():
    assert [format_duration(s) for s in (0, 42.4, 60, 185, 3599, 3720)] == [
        "0 s", "42 s", "1 min 00 s", "3 min 05 s", "59 min 59 s", "1 h 02 min"
    ]


# --- In a real browser, against real processes ------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
# Long enough for several progress updates to reach a page that polls every 3 s.
STAGE_SECONDS = {"research": 2, "draft": 6, "qa": 4, "image": 2, "format": 2}
PANEL = "document.querySelector('[data-live-task]')"
PANEL_STATUS = f"{PANEL}.dataset.status"
PANEL_BAR = f"{PANEL}.querySelector('[role=progressbar]')"
# Records every value the progress bar shows, from now on, and marks the page (a reload loses both).
WATCH_PANEL = """() => {
    window.__notReloaded = true;
    window.__firstSequence = Number(document.querySelector('[data-live-task]').dataset.sequence);
    const bar = document.querySelector('[role="progressbar"]');
    window.__progressSeen = [Number(bar.getAttribute('aria-valuenow'))];
    new MutationObserver(() => window.__progressSeen.push(Number(bar.getAttribute('aria-valuenow'))))
        .observe(bar, {attributes: true, attributeFilter: ['aria-valuenow']});
}"""


def _fail_or_skip(reason: str):
    """Outside CI a machine without Chromium skips the browser tests; CI must run them."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs Chromium)")
    pytest.skip(reason)


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        _fail_or_skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail_or_skip("Playwright is not installed (pip install '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path):
    """An editor's slow task running on a one-worker cluster, and Daphne serving the site.

    All of the test's own database work happens here, before the browser starts: Playwright's sync
    API runs an event loop in this thread, where Django would refuse queries (or, allowed, open a
    second connection that outlives the test).
    """
    ensure_seed_data()
    editor = make_user("live-editor")
    editor.groups.add(Group.objects.get(name=EDITORS))
    task = submit_task(created_by=editor, topic="Watching a task live", metadata={"sleep": STAGE_SECONDS})
    server, cluster = WebServer(tmp_path), Cluster(tmp_path, workers=1)
    try:
        server.wait_until_ready()
        _wait_until_running(task, lambda: _logs(server, cluster))
        yield server, cluster, editor, task
    finally:
        cluster.stop()
        server.stop()


def _logs(server, cluster) -> str:
    return f"--- daphne\n{server.output[-3000:]}\n--- cluster\n{cluster.output[-3000:]}"


def _log_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def _wait_until_running(task, logs) -> None:
    def running():
        connection.close()  # a fresh snapshot sees the cluster's commits
        return GenerationTask.objects.get(pk=task.pk).status == "running"

    wait_for(running, timeout=60, message=f"the task to start\n{logs()}")


def _watch_task_finish(site, chromium, tmp_path, *, init_script: str = "", midway=None) -> dict:
    """An editor opens the changelist and the running task's page and waits for the task to finish.

    `midway`, if given, is called once the page has followed a few events live, while the task runs on.
    """
    server, cluster, editor, task = site
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    if init_script:
        context.add_init_script(init_script)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    sockets: list[str] = []
    frames: list[str] = []

    def follow_task_socket(socket) -> None:
        # Only the task's own socket: the dashboard the login lands on follows /ws/tasks too.
        if f"/ws/tasks/{task.pk}" in socket.url:
            sockets.append(socket.url)
            socket.on("framereceived", lambda payload: frames.append(payload))

    page.on("websocket", follow_task_socket)
    _log_in(page, server.url, editor)

    list_page = context.new_page()
    list_page.goto(f"{server.url}{reverse('admin:tasks_generationtask_changelist')}")
    list_page.evaluate("() => { window.__notReloaded = true; }")
    page.goto(f"{server.url}{reverse('admin:tasks_generationtask_change', args=[task.pk])}")
    page.evaluate(WATCH_PANEL)

    try:
        if midway:
            page.wait_for_function(f"() => Number({PANEL}.dataset.sequence) >= window.__firstSequence + 3", timeout=60_000)
            # ...and at least one of them through the socket, not just in the history fetched before it
            # opened (on a slow machine the history can already hold them).
            deadline = time.monotonic() + 30
            while not sockets and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert sockets, "the page opened no WebSocket"
            # The next event's frame, not the panel's sequence: the socket's snapshot moves that before
            # the events it announces arrive, and a restart in between would leave nothing received.
            deadline = time.monotonic() + 60
            while _after(sockets[0]) + 1 not in _event_sequences(frames):
                assert time.monotonic() < deadline, f"no event came through {sockets[0]}"
                page.wait_for_timeout(100)
            midway()
        page.wait_for_function(f"() => Number({PANEL_BAR}.getAttribute('aria-valuenow')) >= 40", timeout=60_000)
        page.screenshot(path=tmp_path / "task-page-running.png")
        cancel_while_running = page.is_visible(CANCEL_BUTTON) and page.is_visible("[data-panel=task]")
        page.wait_for_function(f"() => {PANEL_STATUS} === 'completed'", timeout=90_000)
        # The rest of the page (article, versions, actions) is read again once the run ended.
        page.wait_for_selector("[data-role=ended]:has-text('shown on this page')", timeout=30_000)
        list_page.wait_for_function(
            f"() => document.querySelector('.task-status[data-task-id=\"{task.pk}\"]').dataset.value === 'completed'",
            timeout=30_000,
        )
        # The whole row is read again once the task finished: its approval, quality and words too.
        list_page.wait_for_selector(f"tr[data-task-row='{task.pk}'] .task-approval", timeout=30_000)
    except Exception as error:
        page.screenshot(path=tmp_path / "task-page-failure.png")
        raise AssertionError(f"{error}\n{_logs(server, cluster)}") from None
    page.wait_for_timeout(300)  # the final read of the task after its last event
    page.screenshot(path=tmp_path / "task-page.png")
    list_page.screenshot(path=tmp_path / "task-list.png")
    phases = page.eval_on_selector_all(
        "[data-live-task] li[data-phase]", "items => items.map(i => [i.dataset.phase, i.dataset.state, "
        "i.querySelector('[data-role=duration]').textContent])",
    )
    result = {
        "task": task,
        "requests": requests,
        "bar": page.get_attribute("[role=progressbar]", "aria-valuenow"),
        "percent": page.text_content("[data-live-task] [data-role=percent]"),
        "status": page.text_content("[data-live-task] [data-role=status]"),
        "error_hidden": page.is_hidden("[data-live-task] [data-role=error]"),
        "seen": page.evaluate("window.__progressSeen"),
        "page_kept": page.evaluate("window.__notReloaded === true"),
        "transport": page.evaluate("window.pressroomLive.transport"),
        "socket_attempts": page.evaluate("window.__socketAttempts"),
        "sockets": sockets,
        "socket_frames": len(frames),
        "phases": phases,
        "list_cells": list_page.eval_on_selector_all(
            f".task-live[data-task-id='{task.pk}'] .task-live__text", "cells => cells.map(c => c.textContent)"
        ),
        "list_kept": list_page.evaluate("window.__notReloaded === true"),
        # What the row shows of the finished task's phase, pseudo-elements included: nothing.
        "list_phase_drawn": list_page.evaluate(
            f"() => getComputedStyle(document.querySelector('.task-state__phase [data-task-id=\"{task.pk}\"] "
            ".task-live__text'), '::before').content"),
        "list_approval": list_page.text_content(f"tr[data-task-row='{task.pk}'] .task-approval"),
        "list_rows": list_page.eval_on_selector_all(f"tr[data-task-row='{task.pk}']", "rows => rows.length"),
        "cancel": (cancel_while_running, page.is_visible(CANCEL_BUTTON), page.is_visible("[data-panel=task]")),
        "ended": page.text_content("[data-live-task] [data-role=ended]"),
        "versions_shown": page.eval_on_selector_all("[data-task-section=versions] tbody tr", "rows => rows.length"),
        "article_placeholder": page.is_visible("text=The article appears here when the pipeline has finished it."),
        "list_transport": list_page.evaluate("window.pressroomLive.transport"),
    }
    context.close()
    return result


CANCEL_BUTTON = "form[data-verb=cancel] button"


def _event_sequences(frames: list) -> list[int]:
    """The sequences of the events among WebSocket frames received (snapshots and notices left out)."""
    sequences = []
    for payload in frames:
        message = json.loads(payload)
        if message.get("type") == "event":
            sequences.append(message["event"]["sequence"])
    return sequences


def _assert_watched_to_completion(watched: dict) -> None:
    assert watched["page_kept"], "the task page was not reloaded"
    assert (watched["bar"], watched["percent"], watched["status"]) == ("100", "100%", "Completed")
    assert watched["error_hidden"]
    intermediate = {value for value in watched["seen"][1:] if 0 < value < 100}
    assert len(intermediate) >= 3, f"progress moved live through several values: {watched['seen']}"
    assert watched["seen"] == sorted(watched["seen"]), "progress never went back"
    assert [(phase, state) for phase, state, _ in watched["phases"]] == [
        ("research", "done"), ("draft", "done"), ("qa", "done"), ("image", "done"), ("format", "done")
    ]
    for phase, _, duration in watched["phases"]:
        # At least the stage's own sleep; no upper bound, which a loaded machine would break.
        assert int(duration.removesuffix(" s")) >= STAGE_SECONDS[phase], (phase, duration)
    assert watched["cancel"] == (True, False, False), "Cancel is offered while the task runs, withdrawn once it ended"
    versions = _in_a_thread_of_its_own(lambda: watched["task"].versions.count())
    assert (watched["versions_shown"], versions > 1) == (versions, True), "the versions of the run, without a reload"
    assert not watched["article_placeholder"], "the finished article is shown, without a reload"
    assert watched["ended"].strip() == "The run is over: its result and what you can do next are shown on this page."
    assert watched["list_kept"], "the changelist was not reloaded"
    assert watched["list_cells"] == ["Completed", "", "100%"]
    assert watched["list_phase_drawn"] == "none", "no dash drawn for a finished task's phase"
    assert (watched["list_approval"], watched["list_rows"]) == ("Pending", 1), "the finished row was read again, once"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_editor_watches_a_running_task_finish_without_reloading_the_page(site, chromium, tmp_path):
    watched = _watch_task_finish(site, chromium, tmp_path)

    _assert_watched_to_completion(watched)
    # Daphne serves config.asgi's WebSocket routes: the updates must come through the socket, and
    # polling (the fallback, tested on its own below) would fail this test.
    assert (watched["transport"], watched["list_transport"]) == ("websocket", "websocket")
    assert watched["sockets"], "the task page opened no WebSocket"
    assert watched["socket_frames"] > 0, "no event reached the page through its WebSocket"
    task = watched["task"]
    event_requests = [url for url in watched["requests"] if f"/api/tasks/{task.pk}/events" in url]
    assert len(event_requests) == 1, f"only the history was read over HTTP: {event_requests}"
    assert not [url for url in watched["requests"] if "/api/tasks?page_size=" in url], "the changelist polled"


# A WebSocket that never opens, as behind a proxy that refuses the upgrade; it counts the attempts.
FAILING_WEBSOCKET = """
window.__socketAttempts = 0;
window.WebSocket = class {
    constructor() {
        window.__socketAttempts += 1;
        this.readyState = 3;
        setTimeout(() => this.onclose && this.onclose({code: 1006}), 50);
    }
    send() {}
    close() {}
};
window.WebSocket.OPEN = 1;
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_when_the_socket_never_opens_the_pages_poll_the_api_and_keep_trying_the_socket(site, chromium, tmp_path):
    watched = _watch_task_finish(site, chromium, tmp_path, init_script=FAILING_WEBSOCKET)

    _assert_watched_to_completion(watched)
    assert (watched["transport"], watched["list_transport"]) == ("polling", "polling")
    assert watched["socket_attempts"] >= 4, "three failed attempts, then polling, then the socket again"
    task = watched["task"]
    assert len([url for url in watched["requests"] if f"/api/tasks/{task.pk}/events?after=" in url]) > 3
    assert any("/api/tasks?page_size=100" in url for url in watched["requests"])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_when_the_server_restarts_the_page_reconnects_and_catches_up_on_missed_events(site, chromium, tmp_path):
    server, restarted = site[0], []

    def restart_server():
        server.kill()
        time.sleep(0.5)  # the task moves on meanwhile: the page must catch up on what it missed
        restarted.append(WebServer(tmp_path, name="daphne-restarted", port=server.port))
        restarted[-1].wait_until_ready()

    try:
        watched = _watch_task_finish(site, chromium, tmp_path, midway=restart_server)
    finally:
        for again in restarted:
            again.stop()

    _assert_watched_to_completion(watched)
    assert watched["transport"] == "websocket"
    first, *_, last = watched["sockets"]
    assert _after(first) > 0 and _after(last) > _after(first), watched["sockets"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_choice_made_on_the_task_page_is_kept_when_the_run_ends_and_a_reload_is_offered(site, chromium, tmp_path):
    server, cluster, editor, task = site
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, server.url, editor)

    def two_versions_while_running():
        def ready():
            connection.close()  # a fresh snapshot sees the cluster's commits
            return task.versions.count() >= 2
        wait_for(ready, timeout=60, message=f"two versions of the run\n{_logs(server, cluster)}")
        return GenerationTask.objects.get(pk=task.pk).status

    assert _in_a_thread_of_its_own(two_versions_while_running) == "running"
    page.goto(f"{server.url}{reverse('admin:tasks_generationtask_change', args=[task.pk])}")
    page.evaluate("() => { window.__notReloaded = true; }")
    rows_at_first = page.eval_on_selector_all("[data-task-section=versions] tbody tr", "rows => rows.length")
    choice = page.locator("[data-task-section=versions] input[name=a]:not(:checked)").first
    chosen = choice.get_attribute("value")
    choice.check()  # the editor picks another version to compare, and has not pressed Compare yet

    try:
        page.wait_for_function(f"() => {PANEL_STATUS} === 'completed'", timeout=90_000)
        page.wait_for_selector("[data-live-task] [data-role=ended]", state="visible", timeout=30_000)
    except Exception as error:
        page.screenshot(path=tmp_path / "task-page-failure.png")
        raise AssertionError(f"{error}\n{_logs(server, cluster)}") from None
    page.wait_for_timeout(300)
    page.screenshot(path=tmp_path / "task-page-choice-kept.png")

    assert page.text_content("[data-live-task] [data-role=ended]").strip() == (
        "The run is over: reload the page to see its result and what you can do next.")
    assert page.is_checked(f"[data-task-section=versions] input[name=a][value='{chosen}']"), "the choice was kept"
    assert page.eval_on_selector_all("[data-task-section=versions] tbody tr", "rows => rows.length") == rows_at_first
    assert page.evaluate("window.__notReloaded === true")
    context.close()


def _after(socket_url: str) -> int:
    return int(parse_qs(urlsplit(socket_url).query)["after"][0])


def _in_a_thread_of_its_own(work):
    """`work()`'s result, run where no event loop runs: Playwright's sync API runs one in this thread,
    where Django refuses queries. The thread's database connection is closed before it ends."""
    import threading

    result, failure = [], []

    def run():
        try:
            result.append(work())
        except Exception as error:  # re-raised in the test's thread
            failure.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if failure:
        raise failure[0]
    return result[0]


QUEUE_TILE = "document.querySelector('[data-queue-status=%s]').textContent"


@pytest.fixture
def idle_site(tmp_path):
    """An editor, Daphne and a one-worker cluster, and no task yet."""
    ensure_seed_data()
    editor = make_user("dashboard-watcher")
    editor.groups.add(Group.objects.get(name=EDITORS))
    server, cluster = WebServer(tmp_path), Cluster(tmp_path, workers=1)
    try:
        server.wait_until_ready()
        yield server, cluster, editor
    finally:
        cluster.stop()
        server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_counts_and_follows_a_task_that_starts_while_it_is_open(idle_site, chromium, tmp_path):
    server, cluster, editor = idle_site
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, server.url, editor)  # the login lands on the dashboard, with nothing running
    page.evaluate("() => { window.__notReloaded = true; }")
    empty_at_first = page.is_visible("#dash-running-empty") and page.is_hidden("#dash-running-rows")
    tiles_at_first = page.evaluate(f"() => [{QUEUE_TILE % 'queued'}, {QUEUE_TILE % 'running'}]")
    chart_at_first = page.text_content("[data-dashboard-panel=outcomes]")
    colour = "(status) => getComputedStyle(document.querySelector(`[data-queue-status=${status}]`)).color"
    zero_colours = {page.evaluate(colour, status) for status in ("queued", "running", "failed", "timed_out")}

    task = _in_a_thread_of_its_own(lambda: submit_task(
        created_by=editor, topic="Started after the dashboard opened",
        metadata={"sleep": {"research": 1, "draft": 3, "qa": 1, "image": 1, "format": 1}}))
    status = f"#dash-running-rows .task-status[data-task-id='{task.pk}']"
    try:
        page.wait_for_selector(status, timeout=60_000)
        page.wait_for_function(f"() => {QUEUE_TILE % 'running'} === '1'", timeout=30_000)
        page.screenshot(path=tmp_path / "dashboard-running.png")
        link = page.get_attribute("#dash-running-rows a", "href")
        page.wait_for_function(f"() => document.querySelector(\"{status}\").dataset.value === 'completed'",
                               timeout=90_000)
        cells = page.eval_on_selector_all(f".task-live[data-task-id='{task.pk}'] .task-live__text",
                                          "cells => cells.map(c => c.textContent)")
        page.wait_for_selector(status, state="detached", timeout=30_000)  # it ran; it is not running now
        page.wait_for_function(f"() => {QUEUE_TILE % 'completed'} === '1' && {QUEUE_TILE % 'running'} === '0'",
                               timeout=30_000)
        page.wait_for_selector("[data-dashboard-panel=awaiting] a", timeout=30_000)  # it waits for review now
        page.wait_for_selector("[data-dashboard-panel=outcomes] svg[aria-label*='Total: 1']", timeout=30_000)
    except Exception as error:
        page.screenshot(path=tmp_path / "dashboard-failure.png")
        raise AssertionError(f"{error}\n{_logs(server, cluster)}") from None
    page.screenshot(path=tmp_path / "dashboard-finished.png")
    seen_when_finished = {
        "kept": page.evaluate("window.__notReloaded === true"),
        "empty_note_shown": page.is_visible("#dash-running-empty"),
        "rows": page.eval_on_selector_all("#dash-running-rows tr", "rows => rows.length"),
        "table_hidden": page.is_hidden("#dash-running-rows"),
        "link": link,
        "awaiting": page.get_attribute("[data-dashboard-panel=awaiting] a", "href"),
        "cells": cells,
    }

    def approve_and_publish():  # by a reviewer elsewhere
        from content.services.review import task_approve
        from publishing.services.posts import task_publish

        reviewer = make_user("dashboard-reviewer")
        reviewer.groups.add(Group.objects.get(name=REVIEWERS))
        task_approve(task=GenerationTask.objects.get(pk=task.pk), by=reviewer)
        return task_publish(task=GenerationTask.objects.get(pk=task.pk), by=reviewer)

    post = _in_a_thread_of_its_own(approve_and_publish)
    try:
        page.wait_for_selector("[data-dashboard-panel=awaiting] a", state="detached", timeout=30_000)
        page.wait_for_selector(f"[data-dashboard-panel=published] a[href='{post.get_absolute_url()}']", timeout=30_000)
    except Exception as error:
        page.screenshot(path=tmp_path / "dashboard-failure.png")
        raise AssertionError(f"{error}\n{_logs(server, cluster)}") from None
    page.screenshot(path=tmp_path / "dashboard-published.png", full_page=True)
    kept_after_publication = page.evaluate("window.__notReloaded === true")
    context.close()

    assert empty_at_first, "the dashboard opened with nothing running"
    assert tiles_at_first == ["0", "0"]
    assert len(zero_colours) == 1, f"a count of 0 is never coloured as an alarm: {zero_colours}"
    assert "No task finished in the last 30 days" in chart_at_first
    assert kept_after_publication
    # Its row showed how it ended, then left "Running now", which says again that nothing runs.
    assert seen_when_finished == {"kept": True, "empty_note_shown": True, "rows": 0, "table_hidden": True,
                    "link": reverse("admin:tasks_generationtask_change", args=[task.pk]),
                    "awaiting": reverse("admin:tasks_generationtask_change", args=[task.pk]),
                    "cells": ["Completed", "", "100%"]}


def _failed_step(page, server, step: str, error: Exception) -> AssertionError:
    """What a live page's test says when a step failed: the step, the page's transport, Daphne's output."""
    transport = page.evaluate("() => window.pressroomLive && window.pressroomLive.transport")
    return AssertionError(f"{step} (transport {transport}): {error}\n--- daphne\n{server.output[-6000:]}")


@pytest.fixture
def site_without_workers(tmp_path):
    """An editor and Daphne re-checking its sockets every second; no cluster: the test moves the task."""
    ensure_seed_data()
    editor = make_user("lost-broadcasts")
    editor.groups.add(Group.objects.get(name=EDITORS))
    server = WebServer(tmp_path, env={"PRESSROOM_WS_RECHECK_SECONDS": "1"})
    try:
        server.wait_until_ready()
        yield server, editor
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_shows_a_task_whose_broadcasts_were_lost_after_the_sockets_next_check(
        site_without_workers, chromium, monkeypatch):
    """The channel layer lost every event of a task that started and ended while the dashboard was
    open (here: this process writes them and broadcasts nothing): `/ws/tasks` sends their states
    after its next access check, and "Running now" adds the task, shows how it ended, lets it go,
    and the Queue counts follow. Before, the dashboard learnt of none of it until a reload."""
    from tasks import events as task_events
    from tasks.events import emit
    from tasks.models import EventKind

    server, editor = site_without_workers

    def start():
        task = make_task(created_by=editor, topic="Started while the layer was away", status="running",
                         phase="draft", progress=30, started_at=timezone.now())
        emit(task, EventKind.STATUS, message="Attempt 1 of 3 started.")
        return task

    def end(task):
        GenerationTask.objects.filter(pk=task.pk).update(status="completed", phase="", progress=100,
                                                         finished_at=timezone.now())
        emit(GenerationTask.objects.get(pk=task.pk), EventKind.STATUS, message="Completed.")

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    step = "opening the dashboard"
    try:
        _log_in(page, server.url, editor)
        page.evaluate("() => { window.__notReloaded = true; }")
        page.wait_for_function("() => window.pressroomLive.transport === 'websocket'", timeout=60_000)
        monkeypatch.setattr(task_events, "broadcast", lambda *payloads: None)
        task = _in_a_thread_of_its_own(start)
        status = f"#dash-running-rows .task-status[data-task-id='{task.pk}']"
        step = "the running task's row"
        page.wait_for_selector(status, timeout=60_000)
        page.wait_for_function(f"() => {QUEUE_TILE % 'running'} === '1'", timeout=60_000)
        _in_a_thread_of_its_own(lambda: end(task))
        step = "the task's end"
        page.wait_for_function(f"() => document.querySelector(\"{status}\").dataset.value === 'completed'",
                               timeout=60_000)
        page.wait_for_selector(status, state="detached", timeout=60_000)
        page.wait_for_function(f"() => {QUEUE_TILE % 'completed'} === '1' && {QUEUE_TILE % 'running'} === '0'",
                               timeout=60_000)
        kept = page.evaluate("window.__notReloaded === true")
    except Exception as error:
        raise _failed_step(page, server, step, error) from None
    finally:
        context.close()

    assert kept, "no reload"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_task_list_adds_a_task_whose_created_event_was_lost_after_the_sockets_next_check(
        site_without_workers, chromium, monkeypatch, tmp_path):
    """A task created while the task list was open, whose "created" broadcast the channel layer lost
    (here: this process broadcasts nothing): `/ws/tasks` sends its state after its next access check,
    with when the task was created, and the list puts its row first. Before, the state came without
    `created_at`, and the list added the row only at a poll or a reload."""
    from tasks import events as task_events

    server, editor = site_without_workers
    older = _in_a_thread_of_its_own(
        lambda: make_task(created_by=editor, topic="Shown when the list opened"))
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    step = "opening the task list"
    try:
        _log_in(page, server.url, editor)
        page.goto(f"{server.url}{reverse('admin:tasks_generationtask_changelist')}")
        page.evaluate("() => { window.__notReloaded = true; }")
        page.wait_for_function("() => window.pressroomLive.transport === 'websocket'", timeout=60_000)
        page.wait_for_selector(f".task-live[data-task-id='{older.pk}']", timeout=30_000)
        monkeypatch.setattr(task_events, "broadcast", lambda *payloads: None)
        task = _in_a_thread_of_its_own(lambda: submit_task(created_by=editor, topic="Created while the layer was away"))
        step = "the new task's row"
        page.wait_for_selector(f"#result_list .task-live[data-task-id='{task.pk}']", timeout=60_000)
        first_row = page.eval_on_selector("#result_list tbody tr", "row => row.textContent")
        page.screenshot(path=tmp_path / "task-list-lost-created.png")
        kept = page.evaluate("window.__notReloaded === true")
    except Exception as error:
        raise _failed_step(page, server, step, error) from None
    finally:
        context.close()

    assert kept, "no reload"
    assert "Created while the layer was away" in first_row, "the new task's row comes first"
