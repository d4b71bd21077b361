"""The oversight hub's dashboard and feedback analytics pages.

The pages are read as the server renders them; the browser test at the end opens them in
Chromium, checks that the charts are drawn and saves screenshots to var/screenshots/. The
selectors and the chart builder are tested in test_dashboard_selectors.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.admin_site import money
from content.models import ApprovalEvent
from publishing.dashboard import PANEL_ROWS
from publishing.models import Post
from publishing.templatetags.dashboard_text import waiting_time
from publishing.roles import EDITORS, REVIEWERS
from tasks.models import GenerationTask, ModelCatalogEntry
from tasks.services.budgets import month_spend
from tests.factories import PASSWORD, make_task, make_user, make_version
from tests.seed import ensure_seed_data

BASE_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = BASE_DIR / "var" / "screenshots"
SITE_BUDGET = "5.00"
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _finished(status: str, at: datetime, **fields):
    return make_task(status=status, finished_at=at, **fields)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The pages -----------------------------------------------------------------------------------


@pytest.fixture
def evil_model(db):
    return ModelCatalogEntry.objects.create(
        key="evil", display_name='<img src=x onerror="alert(1)">Evil & Co', provider="offline"
    )


@pytest.mark.django_db
def test_dashboard_shows_the_panels_and_both_charts_to_a_reviewer(reviewer, editor):
    now = timezone.now()
    running = make_task(status="running", phase="draft", progress=40, created_by=editor, title="Running piece")
    _finished("completed", now - timedelta(hours=3), created_by=editor, title="Waiting piece")
    _finished("failed", now - timedelta(hours=1), created_by=editor, title="Broken piece", error="Provider said <no>.")
    make_version(running, cost=Decimal("0.042"))
    Post.objects.create(title="Fresh post", slug="fresh-post", published_at=now - timedelta(minutes=5))

    response = _client(reviewer).get(reverse("admin:index"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Awaiting your review" in html and "Waiting piece" in html
    assert "Broken piece" in html and "Provider said &lt;no&gt;." in html
    assert "Fresh post" in html
    assert 'data-cost="today">$0.04<' in html
    assert html.count('<svg class="chart" role="img"') == 2
    assert 'aria-label="Tasks finished per day, last 30 days, by outcome. Total: 2' in html
    # The running task's cells are the task list's live cells, and the script that follows them.
    assert f'data-task-id="{running.pk}" data-field="progress" data-value="40"' in html
    assert 'data-live-task-list' in html and 'data-socket-path="/ws/tasks"' in html
    assert re.search(r'<script src="/static/tasks/live-progress\.js" defer>', html)
    assert not INLINE_SCRIPT.findall(html)
    assert reverse("admin:feedback_analytics") in html
    # The model list stays below the panels.
    assert html.index('id="dashboard"') < html.index('class="app-tasks module')


@pytest.mark.django_db
def test_an_editor_dashboard_shows_only_their_own_tasks(editor, other_editor):
    _finished("completed", timezone.now(), created_by=editor, title="My waiting piece")
    _finished("completed", timezone.now(), created_by=other_editor, title="Someone else's piece")

    html = _client(editor).get(reverse("admin:index")).content.decode()

    assert "Your tasks awaiting review" in html
    assert "My waiting piece" in html
    assert "Someone else" not in html


@pytest.mark.django_db
def test_awaiting_review_links_to_the_whole_review_queue_when_it_holds_more_than_it_shows(reviewer, editor):
    now = timezone.now()
    for minutes in range(PANEL_ROWS + 2):
        _finished("completed", now - timedelta(minutes=minutes), created_by=editor, title=f"Waiting {minutes}")
    client = _client(reviewer)

    index = client.get(reverse("admin:index")).content.decode()
    panel = client.get(reverse("admin:dashboard_queue")).json()["panels"]["awaiting"]

    review_queue = reverse("admin:tasks_generationtask_changelist") + "?review=awaiting"
    more = f'<a href="{review_queue}">All {PANEL_ROWS + 2} awaiting review →</a>'
    assert more in index and more in panel
    assert f"Review queue ({PANEL_ROWS + 2})" in client.get(review_queue).content.decode()


@pytest.mark.django_db
def test_awaiting_review_has_no_link_to_more_when_it_shows_every_task(reviewer, editor):
    for _ in range(PANEL_ROWS):
        _finished("completed", timezone.now(), created_by=editor)

    html = _client(reviewer).get(reverse("admin:index")).content.decode()

    assert "awaiting review →" not in html


@pytest.mark.django_db
def test_awaiting_review_says_how_long_each_task_has_waited_in_words(editor):
    now = timezone.now()
    _finished("completed", now - timedelta(seconds=20), created_by=editor)
    _finished("completed", now - timedelta(hours=2, minutes=1), created_by=editor)

    html = _client(editor).get(reverse("admin:index")).content.decode().replace("\xa0", " ")

    assert "waiting under a minute" in html and "0 minutes" not in html
    assert "waiting 2 hours, 1 minute<" in html


def test_waiting_time_is_under_a_minute_then_minutes_and_hours_in_the_singular_or_plural():
    now = timezone.now()
    waited = [waiting_time(now - timedelta(seconds=seconds)).replace("\xa0", " ")
              for seconds in (0, 59, 60, 120, 3600, 7260)]
    assert waited == ["under a minute", "under a minute", "1 minute", "2 minutes", "1 hour", "2 hours, 1 minute"]


@pytest.mark.django_db
def test_a_failure_says_when_it_happened_in_words(editor):
    now = timezone.now()
    _finished("failed", now - timedelta(seconds=20), created_by=editor, title="Just broke")
    _finished("timed_out", now - timedelta(minutes=5), created_by=editor, title="Broke earlier")

    panel = _client(editor).get(reverse("admin:dashboard_queue")).json()["panels"]["failures"].replace("\xa0", " ")

    assert "Failed just now" in panel and "Timed out 5 minutes ago" in panel and "0 minutes" not in panel


@pytest.mark.django_db
def test_internal_tables_are_hidden_from_a_reviewer_and_listed_for_a_superuser(reviewer, superuser):
    reviewer_page = _client(reviewer).get(reverse("admin:index")).content.decode()
    superuser_page = _client(superuser).get(reverse("admin:index")).content.decode()

    for internal in ("tasks/taskevent/", "tasks/stagecheckpoint/"):
        assert internal not in reviewer_page
        assert internal in superuser_page
    assert "tasks/generationtask/" in reviewer_page
    # The app page filters the same way.
    app_page = _client(reviewer).get(reverse("admin:app_list", args=["tasks"])).content.decode()
    assert "tasks/taskevent/" not in app_page and "tasks/generationtask/" in app_page


@pytest.mark.django_db
def test_feedback_analytics_shows_reasons_by_model_as_a_table_and_an_escaped_chart(reviewer, evil_model):
    task = _finished("completed", timezone.now(), model=evil_model)
    ApprovalEvent.objects.create(task=task, decision="rejected", actor=reviewer, feedback="No.", reasons=["tone"])

    response = _client(reviewer).get(reverse("admin:feedback_analytics"))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Evil &amp; Co" in html
    assert html.count('<svg class="chart" role="img"') == 1
    assert 'aria-label="Rejection reasons by model. Total: 1' in html
    assert re.search(r"<th scope=\"col\" class=\"num\">Tone</th>", html)
    assert "Evil &amp; Co — Tone: 1</title>" in html


@pytest.mark.django_db
def test_feedback_analytics_shows_an_editor_only_rejections_of_their_own_tasks(editor, other_editor, reviewer):
    mine = _finished("completed", timezone.now(), created_by=editor)
    theirs = _finished("completed", timezone.now(), created_by=other_editor)
    ApprovalEvent.objects.create(task=mine, decision="rejected", actor=reviewer, reasons=["length"])
    ApprovalEvent.objects.create(task=theirs, decision="rejected", actor=reviewer, reasons=["sources"])

    response = _client(editor).get(reverse("admin:feedback_analytics"))

    assert response.status_code == 200
    assert response.context["total"] == 1
    assert [reason["code"] for reason in response.context["reasons"]] == ["length"]


@pytest.mark.django_db
def test_feedback_analytics_needs_the_audit_trail_permission():
    outsider = make_user()

    assert _client(outsider).get(reverse("admin:feedback_analytics")).status_code == 403
    assert Client().get(reverse("admin:feedback_analytics")).status_code == 302  # to the login page


# --- In a real browser ---------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
CHART_BARS = """(selector) => [...document.querySelectorAll(selector + ' svg.chart')].map((svg) => {
    const box = svg.getBoundingClientRect();
    return {width: box.width, height: box.height, segments: svg.querySelectorAll('.chart__segment').length,
            filled: [...svg.querySelectorAll('.chart__segment')].every(
                (bar) => getComputedStyle(bar).fill !== 'none' && bar.getBoundingClientRect().height > 0)};
})"""


def _seed_a_month_of_work(reviewer):
    """Thirty days of finished tasks, spend, rejections, a running task and a published post."""
    import random

    rng = random.Random(8)
    now = timezone.now()
    editors = Group.objects.get(name=EDITORS)
    writer = make_user("dash-editor")
    writer.groups.add(editors)
    gpt = ModelCatalogEntry.objects.create(
        key="gpt-4o-mini-dash", display_name="GPT-4o mini", provider="openai_compatible",
        provider_model_id="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY",
    )
    models = [None, gpt]
    reasons = ["tone", "length", "factual_error", "structure", "sources", "quality", "off_topic", "other"]
    for days_ago in range(30):
        for _ in range(rng.randint(0, 5)):
            status = rng.choices(["completed", "failed", "timed_out", "cancelled"], [8, 2, 1, 1])[0]
            finished = now - timedelta(days=days_ago, hours=rng.randint(0, 10))
            model = rng.choice(models)
            task = _finished(status, finished, created_by=writer, title=f"Piece {days_ago}-{rng.randint(1, 999)}",
                             error="The provider answered 429 Too Many Requests." if status == "failed" else "",
                             **({"model": model} if model else {}))
            with _frozen(finished):
                version = make_version(task, cost=Decimal(rng.randint(1, 90)) / 1000)
                if status == "completed" and rng.random() < 0.5:
                    ApprovalEvent.objects.create(
                        task=task, decision="rejected", actor=reviewer, feedback="Please revise.",
                        reasons=rng.sample(reasons[: 4 if model else 8], rng.randint(1, 2)),
                    )
            # As the pipeline leaves a finished task: queued before it ran, costing what it wrote.
            GenerationTask.objects.filter(pk=task.pk).update(queued_at=finished - timedelta(minutes=10),
                                                             actual_cost=version.cost)
    _finished("failed", now - timedelta(hours=2), created_by=writer, title="A piece the provider refused",
              error="The provider answered 401 Unauthorized: check OPENAI_API_KEY.")
    make_task(status="running", phase="draft", progress=45, created_by=writer, title="A piece being written now",
              started_at=now - timedelta(minutes=2))
    Post.objects.create(title="What a dashboard is for", slug="dashboard-post", published_at=now - timedelta(hours=1))


class _frozen:
    """`timezone.now()` fixed while rows take their `created_at` (auto_now_add)."""

    def __init__(self, moment):
        self.moment = moment

    def __enter__(self):
        self.original = timezone.now
        timezone.now = lambda: self.moment

    def __exit__(self, *exc):
        timezone.now = self.original


@pytest.fixture
def chromium():
    import os

    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is not installed at {CHROMIUM}; CI must run the browser tests")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def dashboard_site(tmp_path):
    """A reviewer, a month of seeded work, and Daphne serving the site on the test database.

    All database work happens before the browser starts: Playwright's sync API runs an event loop
    in this thread, where Django would refuse queries.
    """
    from tests.processes import WebServer

    ensure_seed_data()
    reviewer = make_user("dash-reviewer")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    _seed_a_month_of_work(reviewer)
    site_spend = money(month_spend())  # read here: the browser's thread may not query
    with WebServer(tmp_path, env={"PRESSROOM_MONTHLY_BUDGET": SITE_BUDGET}) as server:
        yield server, reviewer, site_spend


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_sees_the_dashboard_charts_drawn_in_the_browser(dashboard_site, chromium):
    server, reviewer, site_spend = dashboard_site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{server.url}/admin/")

    charts = page.evaluate(CHART_BARS, ".dash__charts")
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    site_budget = [page.locator(f"[data-budget=site] [data-budget-{part}]").text_content() for part in ("spent", "limit")]
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")

    assert len(charts) == 2, server.output[-3000:]
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150
        assert chart["segments"] > 0 and chart["filled"]
    assert page.locator(".dash__charts svg.chart").first.is_visible()
    assert page.locator("[data-live-task-list]").count() == 1
    assert overflow <= 0, "the dashboard fits 1280 px"
    assert site_budget == [site_spend, f"${SITE_BUDGET}"]
    assert not errors

    dark = chromium.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    dark.add_cookies(context.cookies())
    dark_page = dark.new_page()
    dark_page.goto(f"{server.url}/admin/")
    dark_page.screenshot(path=str(SCREENSHOTS / "dashboard-dark.png"), full_page=True)
    assert len(dark_page.evaluate(CHART_BARS, ".dash__charts")) == 2
    dark.close()

    page.click("text=Feedback analytics")
    page.wait_for_url(f"{server.url}/admin/feedback-analytics/")
    analytics = page.evaluate(CHART_BARS, ".analytics")
    page.screenshot(path=str(SCREENSHOTS / "feedback-analytics.png"), full_page=True)

    assert len(analytics) == 1 and analytics[0]["segments"] > 0 and analytics[0]["filled"]
    assert page.locator("th[scope=row]", has_text="GPT-4o mini").is_visible()
    context.close()


@pytest.mark.django_db
def test_the_review_queue_is_read_from_its_own_index(reviewer):
    """Without the partial index every completed task was read to find the few awaiting a decision
    (15 ms for the panel at 50,000 tasks, make bench-admin); the planner can take the waiting ones
    in order from it. Sequential scans are priced out here: on a test's few rows one would win."""
    from django.db import connection, transaction

    from publishing import dashboard

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = dashboard.awaiting_review(reviewer).explain()

    assert "task_awaiting_review" in plan and "Sort" not in plan, plan


# --- "Running now", live -------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_nothing_running_the_dashboard_still_follows_tasks_and_knows_where_to_get_a_new_row(editor):
    html = _client(editor).get(reverse("admin:index")).content.decode()

    assert re.search(r'<script src="/static/tasks/live-progress\.js" defer>', html)
    assert 'data-add-rows="running"' in html
    assert f'data-queue-url="{reverse("admin:dashboard_queue")}"' in html
    assert '<span class="dash-stat__value" data-queue-status="running" data-count="0">0</span>' in html
    assert f'data-row-url="{reverse("admin:dashboard_running_row", args=["TASK_ID"])}"' in html
    assert re.search(r'<table class="dash-table" hidden>\s*<thead>', html)
    assert '<p class="dash-empty" id="dash-running-empty">Nothing is running.</p>' in html


@pytest.mark.django_db
def test_the_running_row_of_a_task_the_viewer_may_see_is_its_live_cells(editor):
    task = make_task(status="running", phase="draft", progress=40, created_by=editor, title="Started later")

    response = _client(editor).get(reverse("admin:dashboard_running_row", args=[task.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith("<tr>") and "Started later" in html
    assert reverse("admin:tasks_generationtask_change", args=[task.pk]) in html
    assert f'data-task-id="{task.pk}" data-field="progress" data-value="40"' in html


@pytest.mark.django_db
def test_the_running_row_of_a_task_between_phases_shows_no_dash_for_the_phase(editor):
    task = make_task(status="running", phase="", progress=0, created_by=editor)

    html = _client(editor).get(reverse("admin:dashboard_running_row", args=[task.pk])).content.decode()

    assert re.search(r'data-field="phase"[^>]*><span class="task-live__text"></span>', html)
    assert "—" not in html


@pytest.mark.django_db
def test_no_running_row_for_a_task_not_running_not_the_viewers_or_not_a_task(editor, other_editor):
    queued = make_task(status="queued", created_by=editor)
    someone_elses = make_task(status="running", created_by=other_editor)
    client = _client(editor)

    for task_id in (queued.pk, someone_elses.pk, "not-a-uuid", "0" * 5000):
        response = client.get(reverse("admin:dashboard_running_row", args=[task_id]))
        assert (response.status_code, response.content) == (204, b""), task_id
    anonymous = Client().get(reverse("admin:dashboard_running_row", args=[queued.pk]))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_the_queue_counts_are_read_again_as_json_over_the_viewers_tasks(editor, other_editor):
    make_task(status="running", created_by=editor)
    make_task(status="queued", created_by=editor)
    make_task(status="queued", created_by=other_editor)

    response = _client(editor).get(reverse("admin:dashboard_queue"))

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["counts"] == {"queued": 1, "running": 1, "completed": 0, "failed": 0,
                                         "cancelled": 0, "timed_out": 0}


@pytest.mark.django_db
def test_the_awaiting_review_and_failures_lists_are_read_again_as_the_index_renders_them(editor, other_editor):
    now = timezone.now()
    _finished("completed", now - timedelta(minutes=5), created_by=editor, title="Mine <b>waiting</b>")
    _finished("failed", now - timedelta(minutes=2), created_by=editor, title="Mine broken", error="Said <no>.")
    _finished("completed", now, created_by=other_editor, title="Someone else's")
    client = _client(editor)

    panels = client.get(reverse("admin:dashboard_queue")).json()["panels"]
    index = client.get(reverse("admin:index")).content.decode()

    assert "Mine &lt;b&gt;waiting&lt;/b&gt;" in panels["awaiting"] and "Someone else" not in panels["awaiting"]
    assert "Mine broken" in panels["failures"] and "Said &lt;no&gt;." in panels["failures"]
    for name, html in panels.items():
        assert f'<div data-dashboard-panel="{name}">{html}</div>' in index


@pytest.mark.django_db
def test_spend_budgets_and_both_charts_are_read_again_as_work_is_queued_and_finished(editor, other_editor):
    client = _client(editor)
    before = client.get(reverse("admin:dashboard_queue")).json()["panels"]

    make_task(status="queued", created_by=editor, estimated_cost=Decimal("1.5"), queued_at=timezone.now())
    done = _finished("completed", timezone.now(), created_by=editor)
    make_version(done, cost=Decimal("0.042"))
    make_version(_finished("completed", timezone.now(), created_by=other_editor), cost=Decimal("7"))
    after = client.get(reverse("admin:dashboard_queue")).json()["panels"]

    assert 'data-cost="today">$0<' in before["spend"] and 'data-cost="today">$0.04<' in after["spend"]
    assert 'data-cost="month">$0.04<' in after["spend"]  # the other editor's $7 is not this editor's to see
    yours = re.compile(r'data-budget="user">.*?data-budget-spent>([^<]*)<', re.DOTALL)
    assert yours.search(before["budget"]).group(1) == "$0" and yours.search(after["budget"]).group(1) == "$1.50"
    assert "No task finished in the last 30 days" in before["outcomes"]
    assert 'by outcome. Total: 1' in after["outcomes"]
    assert "Nothing spent in the last 30 days" in before["costs"] and "Nothing spent" not in after["costs"]
    index = client.get(reverse("admin:index")).content.decode()
    for name, html in after.items():
        assert f'<div data-dashboard-panel="{name}">{html}</div>' in index


@pytest.mark.django_db
def test_recently_published_posts_are_read_again(editor):
    client = _client(editor)
    before = client.get(reverse("admin:dashboard_queue")).json()["panels"]["published"]
    Post.objects.create(title="Fresh <i>post</i>", slug="fresh-post", published_at=timezone.now() - timedelta(minutes=1))
    Post.objects.create(title="Tomorrow's post", slug="tomorrows-post", published_at=timezone.now() + timedelta(days=1))

    after = client.get(reverse("admin:dashboard_queue")).json()["panels"]["published"]

    assert "Nothing published yet." in before
    assert 'href="/posts/fresh-post/">Fresh &lt;i&gt;post&lt;/i&gt;</a>' in after and "Tomorrow" not in after


@pytest.mark.django_db
def test_the_side_column_lists_the_viewers_own_decisions_not_none_available(editor, reviewer):
    from content.models import ApprovalEvent

    mine = _finished("completed", timezone.now(), created_by=editor, title="Decided <b>by me</b>")
    ApprovalEvent.objects.create(task=mine, decision="approved", actor=reviewer)
    ApprovalEvent.objects.create(task=_finished("completed", timezone.now(), created_by=editor, title="Not mine"),
                                 decision="rejected", actor=editor, feedback="x", reasons=["quality"])

    html = _client(reviewer).get(reverse("admin:index")).content.decode()
    side = html.split('id="recent-decisions-module"', 1)[1].split("</div>", 1)[0]

    assert "Decided &lt;b&gt;by me&lt;/b&gt;" in side and "Approved ·" in side and "Not mine" not in side
    assert reverse("admin:tasks_generationtask_change", args=[mine.pk]) in side
    assert "None available" not in html and "Your recent edits in forms" in html


@pytest.mark.django_db
def test_what_finished_lately_is_read_from_an_index_for_those_who_see_every_task(reviewer):
    """The chart of the last 30 days and the recent failures read every task without an index on
    `finished_at` (280–510 ms a dashboard or review-queue load at 1,000,000 tasks,
    bench/big_site.py). Sequential scans are priced out: on a test's few rows one would win."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from publishing import dashboard

    with CaptureQueriesContext(connection) as queries:
        dashboard.finished_per_day(reviewer)
    chart = next(query["sql"] for query in queries if "tasks_generationtask" in query["sql"])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {chart}")
            plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "task_finished" in plan and "Seq Scan" not in plan, plan
