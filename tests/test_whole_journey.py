"""The whole journey, once, through real processes: Daphne, django-q2 clusters and PostgreSQL
as separate processes, the real content pipeline with the built-in offline writer (no network),
and Debian's Chromium driven through Playwright.

An editor briefs a blog post in the admin (seeing its estimate) and watches it run live; a
reviewer rejects it with reasons and a revision request, watches the revision run live, compares
the two versions, approves and publishes; an anonymous reader finds the post with the blog's
search and reads it; an API client with a JWT sees the same task, its versions and its audit
trail. Each step leaves a screenshot in var/screenshots/journey/ for a person to look at.

The cluster runs only while the test wants a run to happen: it is started once the page that
watches the run is open, and stopped when the run is over, so the offline writer's quick runs
are always seen live rather than finished before the page loads. Nothing here touches the
database while the browser runs (Playwright's sync API runs an event loop in this thread, where
Django refuses queries): the users are made first, and everything after is read through the
pages and the API, as the three kinds of users read it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from django.urls import reverse

from publishing.roles import EDITORS, REVIEWERS
from tests.conftest import role
from tests.content.notes import RAINWATER
from tests.factories import PASSWORD, make_user
from tests.processes import Cluster, WebServer
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_live_progress import _log_in, chromium  # noqa: F401 (fixture)

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots" / "journey"
VIEWPORT = {"width": 1280, "height": 900}
REAL_PIPELINE = {"DJANGO_SETTINGS_MODULE": "tests.settings"}  # not tests.cluster_settings' stand-in stages

TITLE = "Rainwater barrels for small gardens"
SEARCH_WORD = "rainwater"
REJECTION = "Too long for a quick guide, and it needs a section on costs."
REASONS = ["length", "structure"]
TARGET_WORDS = 150

# Records, from now on, every status and phase the live panel shows, and marks the page: a reload
# would lose both, so they prove the changes arrived while the page stayed open.
WATCH_PANEL = """() => {
    const panel = document.querySelector('[data-live-task]');
    window.__notReloaded = true;
    window.__seen = [[panel.dataset.status, panel.dataset.phase]];
    new MutationObserver(() => {
        const last = window.__seen[window.__seen.length - 1];
        const now = [panel.dataset.status, panel.dataset.phase];
        if (now[0] !== last[0] || now[1] !== last[1]) window.__seen.push(now);
    }).observe(panel, {attributes: true, attributeFilter: ['data-status', 'data-phase']});
}"""
PANEL_STATUS = "document.querySelector('[data-live-task]').dataset.status"


@pytest.fixture
def journey(tmp_path):
    """An editor and a reviewer, Daphne serving the real application; clusters come and go in the test."""
    ensure_seed_data()
    editor = make_user("journey-editor")
    editor.groups.add(role(EDITORS))
    reviewer = make_user("journey-reviewer")
    reviewer.groups.add(role(REVIEWERS))
    environment = {**REAL_PIPELINE, "MEDIA_ROOT": str(tmp_path / "media")}
    server = WebServer(tmp_path, env=environment)
    clusters: list[Cluster] = []
    try:
        server.wait_until_ready()
        yield Journey(tmp_path, server, clusters, environment, editor, reviewer)
    finally:
        for cluster in clusters:
            cluster.stop()
        server.stop()


class Journey:
    """The running site and what the test needs to drive it."""

    def __init__(self, tmp_path, server, clusters, environment, editor, reviewer):
        self.tmp_path, self.server, self.clusters, self.environment = tmp_path, server, clusters, environment
        self.editor, self.reviewer = editor, reviewer
        self.url = server.url

    def logs(self) -> str:
        parts = [f"--- daphne\n{self.server.output[-3000:]}"]
        parts += [f"--- cluster {n}\n{cluster.output[-3000:]}" for n, cluster in enumerate(self.clusters, 1)]
        return "\n".join(parts)

    def run_once_watched(self, page, shot: str) -> tuple[list[list[str]], str]:
        """Start a cluster while `page` watches the task's panel, wait for the run to finish live,
        stop the cluster; the statuses and phases the panel went through, and what it says then."""
        page.evaluate(WATCH_PANEL)
        self.clusters.append(Cluster(self.tmp_path, workers=1, env=self.environment))
        try:
            # Past "queued" (a quick run may be over by the next check; __seen keeps every step).
            page.wait_for_function("() => window.__seen.some(([status]) => status !== 'queued')", timeout=30_000)
            shot_of(page, f"{shot}-running")
            page.wait_for_function(f"() => {PANEL_STATUS} === 'completed'", timeout=60_000)
            page.wait_for_selector("[data-live-task] [data-role=ended]", state="visible")
        except Exception as error:
            shot_of(page, f"{shot}-failure")
            raise AssertionError(f"{error}\n{self.logs()}") from None
        finally:
            self.clusters[-1].stop()
        shot_of(page, f"{shot}-completed")
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        return page.evaluate("window.__seen"), page.locator("[data-live-task] [data-role=ended]").inner_text()


def shot_of(page, name: str) -> None:
    """A full-page screenshot, from the top (sticky parts such as the admin's sidebar otherwise
    sit wherever the last click scrolled the page to)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _signed_in(chromium, journey, user):  # noqa: F811
    """A page of a new browser context signed in as `user`, and the socket events it will receive."""
    page = chromium.new_context(viewport=VIEWPORT).new_page()
    received = _record_socket_events(page)
    _log_in(page, journey.url, user)
    return page, received


def _record_socket_events(page) -> list[tuple[str, dict]]:
    """(socket path, event) for every progress event a WebSocket of `page` delivers from now on."""
    received: list[tuple[str, dict]] = []

    def follow(socket) -> None:
        path = socket.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]

        def frame(payload) -> None:
            message = json.loads(payload)
            if message.get("type") == "event":
                received.append((f"/{path}", message["event"]))

        socket.on("framereceived", frame)

    page.on("websocket", follow)
    return received


def _phase_events(received, task_id: str) -> list[str]:
    """The phases the task's own socket (not the dashboard's /ws/tasks) announced, in order."""
    return [event["phase"] for path, event in received if path == f"/ws/tasks/{task_id}" and event["kind"] == "phase"]


def _phases(seen: list[list[str]]) -> list[str]:
    """The phases a watched panel showed while running, in order."""
    return [phase for status, phase in seen if status == "running" and phase]


def _review_heading(page) -> str:
    return page.locator("#task-article-title").text_content()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_post_goes_from_brief_to_blog_through_admin_blog_and_api(journey, chromium):  # noqa: F811
    base = journey.url
    task_pages = reverse("admin:tasks_generationtask_changelist")

    # 1. The editor briefs a blog post with the form and sees its estimate.
    editor, editor_received = _signed_in(chromium, journey, journey.editor)
    editor.goto(f"{base}{reverse('admin:tasks_generationtask_add')}")
    editor.wait_for_function("() => document.querySelector('output.task-estimate').dataset.cost !== undefined")
    estimate_shown = editor.locator("output.task-estimate").text_content()
    estimated_cost = editor.locator("output.task-estimate").get_attribute("data-cost")
    model_chosen = editor.locator("select[name=model] option:checked").text_content()
    editor.select_option("select[name=task_type]", "blog_post")
    editor.fill("input[name=title]", TITLE)
    editor.fill("input[name=topic]", "Collecting rainwater in barrels for a small garden")
    editor.fill("input[name=word_count]", "300")
    editor.fill("input[name=category]", "Gardening")
    editor.fill("input[name=tags]", "water, garden")
    editor.fill("textarea[name=research_notes]", RAINWATER)
    shot_of(editor, "01-editor-new-task-form")
    editor.click("input[name=_save]")
    editor.wait_for_url(f"{base}{task_pages}")
    shot_of(editor, "02-editor-task-list")
    editor.click(".messagelist .success a")
    editor.wait_for_selector("[data-live-task]")
    task_id = re.search(r"/generationtask/([^/]+)/change/", editor.url).group(1)
    queued = editor.locator("[data-live-task] [data-role=status]").text_content()
    shot_of(editor, "03-editor-task-queued")

    # 2. ...and watches it run live: the cluster starts only now, with the page open.
    first_run, first_run_ended = journey.run_once_watched(editor, "04-editor-task")
    first_transport = editor.evaluate("window.pressroomLive.transport")
    editor.reload()
    awaiting = _review_heading(editor)
    shot_of(editor, "05-editor-task-awaiting-review")
    editor.context.close()

    # 3. The reviewer rejects it with reasons and a revision request, and watches the revision live.
    reviewer, reviewer_received = _signed_in(chromium, journey, journey.reviewer)
    reviewer.goto(f"{base}{reverse('admin:tasks_generationtask_change', args=[task_id])}")
    rejected_heading = _review_heading(reviewer)
    shot_of(reviewer, "06-reviewer-task-before-review")
    reject = reviewer.locator("form[data-verb=reject]")
    reject.locator("textarea[name=reject-feedback]").fill(REJECTION)
    for reason in REASONS:
        reject.locator(f"input[name=reject-reasons][value={reason}]").check()
    reject.locator("input[name=reject-revise]").check()
    reject.locator("input[name=reject-target_words]").fill(str(TARGET_WORDS))
    shot_of(reviewer, "07-reviewer-rejection-filled-in")
    reject.locator("button[name=reject]").click()
    reviewer.wait_for_selector(".messagelist .success")
    rejected_message = reviewer.locator(".messagelist .success").text_content()
    revising_heading = _review_heading(reviewer)
    revision, revision_ended = journey.run_once_watched(reviewer, "08-reviewer-revision")
    revision_transport = reviewer.evaluate("window.pressroomLive.transport")
    reviewer.reload()
    revised_heading = _review_heading(reviewer)
    shot_of(reviewer, "09-reviewer-revision-awaiting-review")

    # 4. ...compares the rejected version with the revision...
    rejected_number = int(re.search(r"Version (\d+)", rejected_heading).group(1))
    revised_number = int(re.search(r"Version (\d+)", revised_heading).group(1))
    reviewer.check(f"input[name=a][value='{rejected_number}']")
    reviewer.check(f"input[name=b][value='{revised_number}']")
    reviewer.click("text=Compare A with B")
    reviewer.wait_for_selector("table.version-diff")
    diff_heads = reviewer.locator("table.version-diff thead th").all_text_contents()
    left_lines = reviewer.locator("table.version-diff td.side.left").all_text_contents()
    right_lines = reviewer.locator("table.version-diff td.side.right").all_text_contents()
    changed_rows = reviewer.locator("table.version-diff tbody tr:not(.diff-equal)").count()
    shot_of(reviewer, "10-reviewer-version-diff")

    # 5. ...approves and publishes.
    reviewer.goto(f"{base}{reverse('admin:tasks_generationtask_change', args=[task_id])}")
    reviewer.fill("textarea[name=approve-feedback]", "Short and clear now.")
    reviewer.click("button[name=approve]")
    reviewer.wait_for_selector(".messagelist .success")
    approved_message = reviewer.locator(".messagelist .success").text_content()
    shot_of(reviewer, "11-reviewer-approved")
    reviewer.click("button[name=publish]")
    reviewer.wait_for_selector(".messagelist .success a")
    published_message = reviewer.locator(".messagelist .success").text_content()
    shot_of(reviewer, "12-reviewer-published")
    reviewer.context.close()

    # 6. A reader finds the post with the blog's search and reads it.
    reader = chromium.new_context(viewport=VIEWPORT).new_page()
    reader.goto(f"{base}/")
    reader.fill("#site-search-q", SEARCH_WORD)
    reader.click(".site__search button[type=submit]")
    reader.wait_for_url(re.compile(r"/search/\?q="))
    results = reader.locator("main article h2 a").all_text_contents()
    shot_of(reader, "13-reader-search-results")
    reader.click(f"main article h2 a:text-is('{TITLE}')")
    reader.wait_for_selector("article.post h1")
    post_title = reader.locator("article.post h1").text_content()
    post_text = reader.locator("article.post").inner_text()
    post_path = reader.url.removeprefix(base)
    shot_of(reader, "14-reader-post")
    reader.context.close()

    # 7. An API client with a JWT sees the same task, its versions and its audit trail.
    with httpx.Client(base_url=base, timeout=10) as api:
        token = api.post("/api/auth/token", json={"username": "journey-editor", "password": PASSWORD})
        assert token.status_code == 200, token.text
        api.headers["Authorization"] = f"Bearer {token.json()['access']}"
        task = api.get(f"/api/tasks/{task_id}").json()
        versions = api.get(f"/api/tasks/{task_id}/versions").json()["results"]
        rejected = api.get(f"/api/tasks/{task_id}/versions/{rejected_number}").json()
        revised = api.get(f"/api/tasks/{task_id}/versions/{revised_number}").json()
        audit = api.get(f"/api/tasks/{task_id}/approvals").json()["results"]
        events = api.get(f"/api/tasks/{task_id}/events").json()

    # What the editor saw.
    assert model_chosen.startswith("Offline writer") and model_chosen.endswith("free"), model_chosen
    assert estimate_shown == "$0.00 (estimate)" and float(estimated_cost) == 0, (estimate_shown, estimated_cost)
    assert queued == "Queued"
    assert first_transport == "websocket"
    assert _phase_events(editor_received, task_id) == ["research", "draft", "qa", "image", "format"], editor_received
    assert len(set(_phases(first_run))) >= 2 and first_run[-1][0] == "completed", f"seen live: {first_run}"
    assert first_run_ended == "The run is over: its result and what you can do next are shown on this page.", \
        first_run_ended
    assert "approval: pending" in awaiting and not re.search(r"Outline", awaiting), awaiting

    # What the reviewer saw.
    assert rejected_message.strip() == "Rejected; the writer is revising it."
    assert revision_transport == "websocket"
    assert _phase_events(reviewer_received, task_id) == ["draft", "qa", "format"], reviewer_received
    assert re.search(rf"^Version {rejected_number} .* · a new version is being written$", revising_heading.strip()), \
        revising_heading
    assert len(set(_phases(revision))) >= 2 and revision[-1][0] == "completed", f"seen live: {revision}"
    assert "research" not in _phases(revision), revision
    assert revision_ended == "The run is over: its result and what you can do next are shown on this page.", \
        revision_ended
    assert revised_number > rejected_number and "approval: pending" in revised_heading, revised_heading
    assert diff_heads[0].startswith(f"Version {rejected_number} · Format")
    assert diff_heads[1].startswith(f"Version {revised_number} · Format")
    assert changed_rows > 0, "the diff shows what changed"
    for version, side in ((rejected, left_lines), (revised, right_lines)):
        body_lines = [line for line in version["body"].splitlines() if line.strip()]
        assert body_lines and set(body_lines) <= set(side), f"version {version['number']}'s text is in the diff"
    assert rejected["body"] != revised["body"]
    assert revised["word_count"] < rejected["word_count"], (rejected["word_count"], revised["word_count"])
    assert approved_message.strip() == "Approved."
    assert published_message.strip().startswith("Published at /posts/")

    # What the reader saw.
    assert TITLE in results
    assert post_title == TITLE
    assert post_path == published_message.strip().removeprefix("Published at ").removesuffix(".")
    first_paragraph = next(line for line in revised["body"].splitlines() if line and not line.startswith("#"))
    assert first_paragraph.split("[")[0].strip()[:60] in post_text

    # What the API client saw.
    assert (task["id"], task["title"], task["created_by"], task["model"]) == (task_id, TITLE, "journey-editor", "offline")
    assert (task["status"], task["approval_status"], task["estimated_cost"]) == ("completed", "approved", estimated_cost)
    assert task["post"] and task["post"].get("url", post_path).endswith(post_path), task["post"]
    numbers = [v["number"] for v in versions]
    assert numbers == sorted(numbers) and {rejected_number, revised_number} <= set(numbers)
    assert events[0]["kind"] == "created"
    assert [(e["decision"], e["actor"], e["version"]) for e in audit] == [
        ("rejected", "journey-reviewer", rejected_number),
        ("approved", "journey-reviewer", revised_number),
        ("published", "journey-reviewer", revised_number),
    ]
    assert (audit[0]["feedback"], audit[0]["reasons"], audit[0]["revision_requested"], audit[0]["target_words"]) == (
        REJECTION, REASONS, True, TARGET_WORDS)
    assert audit[1]["feedback"] == "Short and clear now."
