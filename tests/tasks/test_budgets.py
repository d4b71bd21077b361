"""Monthly cost budgets: refusal over the site's or a user's limit, raising it, the estimate, the
admin form, the race between two creations, retries and how a month's spend is counted."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from tasks.exceptions import AppendOnlyViolation
from tasks.models import CostBudget, CostBudgetChange, GenerationTask, ModelCatalogEntry
from tasks.services import BudgetExceeded, budget_set, task_retry
from tasks.services.budgets import month_spend, month_start
from tasks.services.lifecycle import estimate_cost
from tests.factories import make_user, offline_model, submit_task
from tests.races import run_while_holding
from tests.tasks.admin_support import brief_data, client_for

pytestmark = pytest.mark.django_db

BRIEF = {"topic": "Composting in small gardens", "word_count": 1000}


@pytest.fixture
def priced():
    """The default (offline) model at a price, so that a brief costs something: its estimate."""
    ModelCatalogEntry.objects.filter(key="offline").update(input_price_per_million=Decimal("10"),
                                                           output_price_per_million=Decimal("30"))
    cost = estimate_cost({"task_type": "blog_post", "word_count": 1000, "model": offline_model()})
    assert cost > 0
    return cost


def create(client, **brief):
    return client.post("/api/tasks", {**BRIEF, **brief}, format="json")


# --- refusal and admission ---------------------------------------------------------------------

def test_creation_over_the_site_budget_is_refused_with_409_and_the_figures(editor_client, settings, priced):
    settings.PRESSROOM_MONTHLY_BUDGET = (priced * 2 + priced / 2).quantize(Decimal("0.01"))

    assert create(editor_client).status_code == 201
    assert create(editor_client).status_code == 201
    response = create(editor_client)

    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "site's monthly budget" in error["message"]
    assert error["budget"]["scope"] == "site"
    assert Decimal(error["budget"]["limit"]) == settings.PRESSROOM_MONTHLY_BUDGET
    assert Decimal(error["budget"]["spent"]) == priced * 2
    assert Decimal(error["budget"]["estimate"]) == priced
    assert GenerationTask.objects.count() == 2


def test_a_users_budget_refuses_that_user_only(editor, editor_client, other_editor_client, reviewer, priced):
    budget_set(user=editor, monthly_limit=(priced * 3 / 2).quantize(Decimal("0.01")), by=reviewer)

    assert create(editor_client).status_code == 201
    refused = create(editor_client)
    assert create(other_editor_client).status_code == 201

    assert refused.status_code == 409
    assert refused.json()["error"]["budget"]["scope"] == "user"
    assert "reviewer can raise your budget" in refused.json()["error"]["message"]
    assert GenerationTask.objects.filter(created_by=editor).count() == 1


def test_without_budgets_and_with_free_briefs_nothing_is_refused(editor, editor_client, reviewer, settings):
    settings.PRESSROOM_MONTHLY_BUDGET = None
    assert create(editor_client).status_code == 201
    budget_set(user=editor, monthly_limit=0, by=reviewer)  # 0: free models only
    assert create(editor_client).status_code == 201  # the offline model is free by default


def test_a_reviewer_raising_the_budget_lets_the_brief_through(editor, editor_client, reviewer, reviewer_client, priced):
    budget_set(user=editor, monthly_limit=Decimal("0.01"), by=reviewer)
    assert create(editor_client).status_code == 409

    response = reviewer_client.put(f"/api/budgets/{editor.pk}", {"monthly_limit": "5.00", "reason": "Launch month"},
                                   format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["monthly_limit"] == "5.00"
    assert [(c["old_limit"], c["new_limit"], c["changed_by"], c["reason"]) for c in body["changes"]] == [
        ("0.01", "5.00", "reviewer1", "Launch month"), (None, "0.01", "reviewer1", ""),
    ]
    assert create(editor_client).status_code == 201


def test_an_editor_cannot_raise_a_budget_nor_read_anothers(editor, editor_client, other_editor, other_editor_client,
                                                           reviewer):
    budget_set(user=editor, monthly_limit=Decimal("1.00"), by=reviewer)

    assert editor_client.put(f"/api/budgets/{editor.pk}", {"monthly_limit": "100"}, format="json").status_code == 403
    assert other_editor_client.get(f"/api/budgets/{editor.pk}").status_code == 404
    own = editor_client.get(f"/api/budgets/{editor.pk}")

    assert own.status_code == 200 and own.json()["monthly_limit"] == "1.00"
    assert CostBudget.objects.get(user=editor).monthly_limit == Decimal("1.00")
    assert CostBudgetChange.objects.count() == 1
    admin_client = client_for(editor)
    assert admin_client.get(reverse("admin:tasks_costbudget_changelist")).status_code == 403
    assert admin_client.post(reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.get().pk]),
                             {"monthly_limit": "100"}).status_code == 403
    assert CostBudget.objects.get(user=editor).monthly_limit == Decimal("1.00")
    assert CostBudgetChange.objects.count() == 1


@pytest.mark.parametrize("body", [
    {"monthly_limit": "NaN"}, {"monthly_limit": "Infinity"}, {"monthly_limit": -1}, {"monthly_limit": "1e99"},
    {"monthly_limit": "1.234"}, {"monthly_limit": True}, {"monthly_limit": "ten"}, {},
    {"monthly_limit": 5, "reason": "a\u0000b"}, {"monthly_limit": 5, "reason": "x" * 501},
    {"monthly_limit": 5, "extra": 1},
])
def test_a_malformed_budget_is_a_400_that_changes_nothing(editor, reviewer_client, body):
    response = reviewer_client.put(f"/api/budgets/{editor.pk}", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert not CostBudget.objects.exists() and not CostBudgetChange.objects.exists()


@pytest.mark.parametrize("limit", ["100000000", "9999999999.99"])
def test_the_largest_limits_are_read_back_by_the_budget_and_the_estimate(editor, editor_client, reviewer_client,
                                                                          limit):
    # With 14 digits for what remains, a limit of 100,000,000 was stored and then every read of
    # that budget and every estimate of that user answered 500.
    assert reviewer_client.put(f"/api/budgets/{editor.pk}", {"monthly_limit": limit}, format="json").status_code == 200

    budget = reviewer_client.get(f"/api/budgets/{editor.pk}")
    estimate = editor_client.post("/api/tasks/estimate", {"topic": "Composting at home"}, format="json")

    assert budget.status_code == 200, budget.content
    assert [(status["limit"], status["remaining"]) for status in budget.json()["budgets"]] == [
        (f"{Decimal(limit):.2f}", f"{Decimal(limit):.6f}")]
    assert estimate.status_code == 200, estimate.content
    assert [status["would_exceed"] for status in estimate.json()["budgets"]] == [False]


def test_an_unknown_or_absurd_user_id_is_a_404(reviewer_client):
    assert reviewer_client.put("/api/budgets/2147483647", {"monthly_limit": 5}, format="json").status_code == 404
    assert reviewer_client.get("/api/budgets/999999999999999999").status_code == 404
    assert reviewer_client.get("/api/budgets/9" * 40).status_code == 404


def test_budget_changes_are_append_only(editor, reviewer):
    budget_set(user=editor, monthly_limit=Decimal("3"), by=reviewer)
    change = CostBudgetChange.objects.get()

    with pytest.raises(AppendOnlyViolation):
        change.delete()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tasks_costbudgetchange SET new_limit = 1000")


# --- the estimate --------------------------------------------------------------------------------

def test_the_estimate_reports_each_budget_and_whether_the_brief_would_exceed_it(
        editor, editor_client, reviewer, settings, priced):
    settings.PRESSROOM_MONTHLY_BUDGET = Decimal("100")
    budget_set(user=editor, monthly_limit=(priced * 3 / 2).quantize(Decimal("0.01")), by=reviewer)

    first = editor_client.post("/api/tasks/estimate", {"word_count": 1000}, format="json").json()
    assert create(editor_client).status_code == 201
    second = editor_client.post("/api/tasks/estimate", {"word_count": 1000}, format="json").json()

    assert first["would_exceed"] is False
    assert [(b["scope"], b["would_exceed"]) for b in first["budgets"]] == [("site", False), ("user", False)]
    assert second["would_exceed"] is True
    user = second["budgets"][1]
    assert Decimal(user["spent"]) == priced and Decimal(user["limit"]) == (priced * 3 / 2).quantize(Decimal("0.01"))
    assert Decimal(user["remaining"]) == Decimal(user["limit"]) - priced
    assert second["budgets"][0]["would_exceed"] is False


def test_the_estimate_lists_no_budget_when_none_is_set(editor_client, settings):
    settings.PRESSROOM_MONTHLY_BUDGET = None
    body = editor_client.post("/api/tasks/estimate", {"word_count": 1000}, format="json").json()
    assert body["budgets"] == [] and body["would_exceed"] is False


# --- the admin -----------------------------------------------------------------------------------

def test_the_admin_brief_form_shows_the_budget_error_and_keeps_the_brief(editor, reviewer, priced):
    budget_set(user=editor, monthly_limit=Decimal("0.01"), by=reviewer)

    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), brief_data(word_count="1000"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert any("would exceed your monthly budget" in error for error in form.non_field_errors())
    assert form["topic"].value() == "Rust for Python programmers"
    assert not GenerationTask.objects.exists()


def test_a_budget_refusal_at_save_is_a_message_not_a_500(editor, reviewer, priced, monkeypatch):
    """A concurrent brief can fill the budget after the form was checked: the service refuses."""
    from tasks.forms import TaskBriefForm

    budget_set(user=editor, monthly_limit=Decimal("0.01"), by=reviewer)
    monkeypatch.setattr(TaskBriefForm, "_check_budget", lambda self, cleaned: None)

    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), brief_data(word_count="1000"),
                                       follow=True)

    assert response.status_code == 200
    assert any("would exceed your monthly budget" in str(m) for m in response.context["messages"])
    assert not GenerationTask.objects.exists()


def test_a_reviewer_sets_a_budget_in_the_admin_and_the_change_is_recorded(editor, reviewer):
    client = client_for(reviewer)
    added = client.post(reverse("admin:tasks_costbudget_add"),
                        {"user": editor.username, "monthly_limit": "20.00", "reason": "Trial"})
    assert added.status_code == 302, added.content[:2000]
    budget = CostBudget.objects.get(user=editor)
    changed = client.post(reverse("admin:tasks_costbudget_change", args=[budget.pk]),
                          {"monthly_limit": "", "reason": "No personal limit"})
    assert changed.status_code == 302
    refused = client.post(reverse("admin:tasks_costbudget_change", args=[budget.pk]), {"monthly_limit": "-5"})
    page = client.get(reverse("admin:tasks_costbudget_change", args=[budget.pk]))

    assert refused.status_code == 200 and "monthly_limit" in refused.context["adminform"].form.errors
    assert [(c.old_limit, c.new_limit, c.changed_by, c.reason) for c in CostBudgetChange.objects.order_by("pk")] == [
        (None, Decimal("20.00"), reviewer, "Trial"), (Decimal("20.00"), None, reviewer, "No personal limit"),
    ]
    assert "No personal limit" in page.content.decode()
    assert client.post(reverse("admin:tasks_costbudget_delete", args=[budget.pk]), {"post": "yes"}).status_code == 403


def test_growing_a_queued_brief_past_the_budget_is_refused(editor, editor_client, reviewer, priced):
    task = submit_task(created_by=editor, **{**BRIEF, "word_count": 300})
    small = task.estimated_cost
    budget_set(user=editor, monthly_limit=(small * 2).quantize(Decimal("0.01")), by=reviewer)

    grown = editor_client.patch(f"/api/tasks/{task.pk}", {"word_count": 5000}, format="json")
    retitled = editor_client.patch(f"/api/tasks/{task.pk}", {"title": "Still small"}, format="json")

    assert grown.status_code == 409 and grown.json()["error"]["code"] == "budget_exceeded"
    assert retitled.status_code == 200
    task.refresh_from_db()
    assert (task.word_count, task.estimated_cost) == (300, small)


# --- retries and what a month counts -------------------------------------------------------------

def test_a_retry_from_the_task_page_over_budget_is_a_message_and_changes_nothing(editor, reviewer, priced):
    task = submit_task(created_by=editor, **BRIEF)
    GenerationTask.objects.filter(pk=task.pk).update(status="failed", finished_at=timezone.now())
    budget_set(user=editor, monthly_limit=Decimal("0.01"), by=reviewer)

    response = client_for(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]), {},
                                       follow=True)

    assert response.status_code == 200
    assert any("would exceed your monthly budget" in str(m) for m in response.context["messages"])
    task.refresh_from_db()
    assert task.status == "failed"


def test_a_retry_over_budget_is_refused(editor, reviewer, priced):
    task = submit_task(created_by=editor, **BRIEF)
    GenerationTask.objects.filter(pk=task.pk).update(status="failed", finished_at=timezone.now(),
                                                     actual_cost=priced / 2)
    budget_set(user=editor, monthly_limit=(priced).quantize(Decimal("0.01")), by=reviewer)

    with pytest.raises(BudgetExceeded) as refused:
        task_retry(task=task, by=editor)

    assert refused.value.budget.scope == "user"
    task.refresh_from_db()
    assert task.status == "failed"
    budget_set(user=editor, monthly_limit=Decimal("10"), by=reviewer)
    assert task_retry(task=task, by=editor).status == "queued"


def test_a_queued_retry_commits_its_new_estimate_on_top_of_what_the_task_spent(editor, reviewer, priced):
    task = submit_task(created_by=editor, **BRIEF)
    GenerationTask.objects.filter(pk=task.pk).update(status="failed", finished_at=timezone.now(), actual_cost=priced)
    budget_set(user=editor, monthly_limit=(priced * 5 / 2).quantize(Decimal("0.01")), by=reviewer)

    task_retry(task=task, by=editor)

    assert month_spend(user=editor) == priced * 2  # the first run's cost and the new run's estimate
    other = submit_task(created_by=reviewer, **BRIEF)
    GenerationTask.objects.filter(pk=other.pk).update(created_by=editor, status="failed", finished_at=timezone.now())
    with pytest.raises(BudgetExceeded):
        task_retry(task=other, by=editor)  # 2 committed + 1 more is past 2.5


def test_a_task_retried_in_a_later_month_counts_in_the_month_of_its_retry(editor, editor_client, reviewer, priced):
    last_month = month_start() - timedelta(days=3)
    first, second = submit_task(created_by=editor, **BRIEF), submit_task(created_by=editor, **BRIEF)
    GenerationTask.objects.filter(pk__in=[first.pk, second.pk]).update(
        status="failed", created_at=last_month, queued_at=last_month, finished_at=last_month,
        actual_cost=priced / 4)
    budget_set(user=editor, monthly_limit=(priced * 2).quantize(Decimal("0.01")), by=reviewer)
    assert month_spend(user=editor) == 0

    assert editor_client.post(f"/api/tasks/{first.pk}/retry", format="json").status_code == 200
    assert month_spend(user=editor) == priced / 4 + priced  # what it spent last month moves with it
    refused = editor_client.post(f"/api/tasks/{second.pk}/retry", format="json")

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert error["budget"]["scope"] == "user"
    assert Decimal(error["budget"]["spent"]) == priced / 4 + priced + priced / 4
    assert Decimal(error["budget"]["estimate"]) == priced
    second.refresh_from_db()
    assert second.status == "failed"


def test_a_month_counts_finished_tasks_at_cost_and_unfinished_ones_at_least_at_their_estimate(editor):
    now = timezone.now()
    model = offline_model()

    def task(status, estimated, actual, queued_at=None, cost_at_queueing="0"):
        row = GenerationTask.objects.create(topic="A brief", model=model, created_by=editor, status=status,
                                            estimated_cost=Decimal(estimated), actual_cost=Decimal(actual),
                                            cost_at_queueing=Decimal(cost_at_queueing),
                                            finished_at=now if status in ("completed", "failed") else None)
        if queued_at is not None:
            GenerationTask.objects.filter(pk=row.pk).update(created_at=queued_at, queued_at=queued_at)

    task("completed", "0.50", "0.30")  # finished: what it cost
    task("failed", "0.50", "0.00")  # failed before spending anything
    task("queued", "0.40", "0.00")  # queued: its estimate
    task("running", "0.20", "0.35")  # running past its estimate: what it spent
    task("running", "0.10", "0.60", cost_at_queueing="0.55")  # a retry: spent before, plus its estimate
    task("completed", "9", "9", queued_at=month_start(now) - timedelta(seconds=1))  # last month

    assert month_spend(user=editor, now=now) == Decimal("1.70")
    assert month_spend(now=now) == Decimal("1.70")
    assert month_spend(user=make_user(), now=now) == 0


def test_a_month_starts_at_midnight_in_the_sites_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    start = month_start(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 22:00 on 30 November in New York

    assert start.isoformat() == "2026-11-01T00:00:00-04:00"


def test_an_idempotent_replay_is_not_refused_by_a_full_budget(editor, editor_client, reviewer, priced):
    budget_set(user=editor, monthly_limit=(priced * 3 / 2).quantize(Decimal("0.01")), by=reviewer)
    first = editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = editor_client.post("/api/tasks", BRIEF, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"


# --- the dashboard -------------------------------------------------------------------------------

def test_the_dashboard_shows_spend_against_the_site_and_the_users_budget(editor, reviewer, settings, priced):
    settings.PRESSROOM_MONTHLY_BUDGET = Decimal("10")
    budget_set(user=editor, monthly_limit=Decimal("0.20"), by=reviewer)
    submit_task(created_by=editor, **BRIEF)
    submit_task(created_by=reviewer, **BRIEF)

    page = client_for(editor).get(reverse("admin:index"))

    budgets = {b["row"].scope: b for b in page.context["dashboard"]["budgets"]}
    assert budgets["site"]["row"].spent == priced * 2 and budgets["site"]["limit"] == "$10.00"
    assert budgets["user"]["row"].spent == priced and budgets["user"]["limit"] == "$0.20"
    assert budgets["user"]["row"].percent == int(priced * 100 / Decimal("0.20"))
    html = page.content.decode()
    assert 'data-budget="site"' in html and 'data-budget="user"' in html
    assert "<span data-budget-limit>$0.20</span>" in html
    assert f'optimum="0" value="{budgets["user"]["row"].percent}"' in html


def test_the_dashboard_says_when_no_budget_is_set(editor, settings):
    settings.PRESSROOM_MONTHLY_BUDGET = None

    html = client_for(editor).get(reverse("admin:index")).content.decode()

    assert "no site budget" in html and "no personal limit" in html


# --- the race ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scope", ["site", "user"])
def test_two_concurrent_creations_cannot_both_pass_the_budget(settings, scope):
    """The first creation holds its transaction open while the second runs: the second must wait for
    it (the budget lock) and then count its task, so only one of two briefs that each fit alone
    is queued. Without the lock both read the same month and both pass."""
    from tests.seed import ensure_seed_data

    ensure_seed_data()
    ModelCatalogEntry.objects.filter(key="offline").update(input_price_per_million=Decimal("10"),
                                                           output_price_per_million=Decimal("30"))
    cost = estimate_cost({"task_type": "blog_post", "word_count": 1000, "model": offline_model()})
    limit = (cost * 3 / 2).quantize(Decimal("0.01"))
    if scope == "site":  # two users, one site budget
        settings.PRESSROOM_MONTHLY_BUDGET = limit
        first_user, second_user = make_user(), make_user()
    else:  # one user with a budget of their own, twice at once
        settings.PRESSROOM_MONTHLY_BUDGET = None
        first_user = second_user = make_user()
        budget_set(user=first_user, monthly_limit=limit, by=make_user())
    first_created, second_done = threading.Event(), threading.Event()
    outcome: dict = {}

    def first():
        try:
            with transaction.atomic():
                submit_task(created_by=first_user, **BRIEF)
                first_created.set()
                deadline = time.monotonic() + 10
                while not second_done.is_set() and not _someone_waits_for_an_advisory_lock():
                    assert time.monotonic() < deadline, "the second creation neither finished nor waited"
                    time.sleep(0.02)
            outcome["first"] = "created"
        finally:
            first_created.set()
            connections.close_all()

    def second():
        try:
            first_created.wait(10)
            submit_task(created_by=second_user, **BRIEF)
            outcome["second"] = "created"
        except BudgetExceeded:
            outcome["second"] = "refused"
        finally:
            second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert outcome == {"first": "created", "second": "refused"}
    assert GenerationTask.objects.count() == 1


def _someone_waits_for_an_advisory_lock() -> bool:
    from django.db import connections as all_connections

    with all_connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def test_the_budget_list_shows_each_users_spend_this_month_in_one_query(reviewer, priced,
                                                                         django_assert_max_num_queries):
    users = [make_user() for _ in range(3)]
    for user in users:
        budget_set(user=user, monthly_limit=Decimal("9"), by=reviewer)
        submit_task(created_by=user, **BRIEF)
    submit_task(created_by=users[0], **BRIEF)
    client = client_for(reviewer)
    client.get(reverse("admin:tasks_costbudget_changelist"))  # sessions, permissions and content types warm up

    with django_assert_max_num_queries(8):  # 7 here; a query per row would make it 10
        page = client.get(reverse("admin:tasks_costbudget_changelist"))

    spent = {row.user: row.month_spend for row in page.context["cl"].result_list}
    assert spent == {users[0]: priced * 2, users[1]: priced, users[2]: priced}


def test_the_budget_pages_show_spend_against_the_limit_and_flag_a_budget_past_it(editor, reviewer):
    budget_set(user=editor, monthly_limit=Decimal("10"), by=reviewer)
    GenerationTask.objects.filter(pk=submit_task(created_by=editor, model=offline_model()).pk).update(
        actual_cost=Decimal("12.5"), status="completed", finished_at=timezone.now(), progress=100)
    client = client_for(reviewer)

    listing = client.get(reverse("admin:tasks_costbudget_changelist")).content.decode()
    page = client.get(reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.get(user=editor).pk]))

    over = '<span class="budget-spend budget-spend--over">$12.50 (125%\u00a0of the limit)</span>'
    assert over in listing and over in page.content.decode()


def test_a_budget_of_nothing_shows_the_spend_without_a_share(editor, reviewer):
    budget_set(user=editor, monthly_limit=Decimal("0"), by=reviewer)
    page = client_for(reviewer).get(reverse("admin:tasks_costbudget_changelist")).content.decode()
    assert "$0.00" in page and "of the limit" not in page


def test_a_twin_request_that_finds_the_budget_full_gets_the_twins_task(editor, reviewer, priced, monkeypatch):
    """Two requests with one Idempotency-Key at once: the second waits for the first's budget lock
    and finds the month full, with the first's task. It is a replay, not a refusal."""
    from tasks.services import lifecycle, task_create

    budget_set(user=editor, monthly_limit=(priced * 3 / 2).quantize(Decimal("0.01")), by=reviewer)
    first, _ = task_create(created_by=editor, brief=dict(BRIEF), idempotency_key="twin")
    replay = lifecycle._replay
    calls = []

    def not_yet_committed_the_first_time(*args):
        calls.append(args)
        return None if len(calls) == 1 else replay(*args)

    monkeypatch.setattr(lifecycle, "_replay", not_yet_committed_the_first_time)
    second, created = task_create(created_by=editor, brief=dict(BRIEF), idempotency_key="twin")

    assert (second, created) == (first, False)
    assert GenerationTask.objects.count() == 1


def test_nobody_raises_their_own_budget_under_the_four_eyes_rule(reviewer, reviewer_client, settings):
    other_reviewer = make_user()
    budget_set(user=reviewer, monthly_limit=Decimal("10"), by=other_reviewer)
    own = f"/api/budgets/{reviewer.pk}"

    raised = reviewer_client.put(own, {"monthly_limit": "50"}, format="json")
    removed = reviewer_client.put(own, {"monthly_limit": None}, format="json")
    in_the_admin = client_for(reviewer).post(
        reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.get(user=reviewer).pk]),
        {"monthly_limit": "50"})
    lowered = reviewer_client.put(own, {"monthly_limit": "5"}, format="json")

    assert raised.status_code == removed.status_code == 403
    assert raised.json()["error"]["code"] == "permission_denied"
    assert in_the_admin.status_code == 200
    assert "four-eyes" in str(in_the_admin.context["adminform"].form.errors["monthly_limit"])
    assert lowered.status_code == 200
    assert list(CostBudgetChange.objects.order_by("pk").values_list("new_limit", "changed_by")) == [
        (Decimal("10"), other_reviewer.pk), (Decimal("5"), reviewer.pk),
    ]
    settings.PRESSROOM_FOUR_EYES = False
    assert reviewer_client.put(own, {"monthly_limit": "50"}, format="json").status_code == 200


# --- an account deleted while a limit is being set ----------------------------------------------

def _deleting(user):
    """An admin's deletion of `user`'s account, left uncommitted by `run_while_holding` until the
    other connection waits for it."""
    return lambda: get_user_model().objects.get(pk=user.pk).delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("budget_row", [False, True], ids=["first-budget", "empty-budget-row"])
def test_setting_the_limit_of_a_user_deleted_meanwhile_is_a_404_that_stores_nothing(editor, reviewer,
                                                                                     reviewer_client, budget_row):
    """The API found the user, then another admin's deletion of the account committed before the
    budget was written. Before, the budget and its change were inserted naming the deleted user and
    the request failed at commit on their foreign keys (an IntegrityError, a 500); or, when the
    user had a budget row without a limit (which the deletion takes with them), the service's
    `get` of it found nothing (DoesNotExist, a 500)."""
    if budget_row:
        budget_set(user=editor, monthly_limit=None, by=reviewer)  # a row, no change recorded
    outcome = run_while_holding(_deleting(editor), lambda: reviewer_client.put(
        f"/api/budgets/{editor.pk}", {"monthly_limit": "5.00", "reason": "Launch month"}, format="json"))

    assert not isinstance(outcome, Exception), repr(outcome)
    assert outcome.status_code == 404, outcome.content
    assert "deleted meanwhile" in outcome.json()["error"]["message"]
    assert not CostBudget.objects.exists() and not CostBudgetChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_limit_set_by_a_reviewer_whose_account_is_deleted_meanwhile_is_a_message_that_stores_nothing(editor,
                                                                                                       reviewer):
    """The reviewer's add form passed; their own account's deletion commits before the budget
    naming them (`updated_by`, `changed_by`) is written. Before: a 500 at commit."""
    client = client_for(reviewer)

    outcome = run_while_holding(_deleting(reviewer), lambda: client.post(
        reverse("admin:tasks_costbudget_add"), {"user": editor.username, "monthly_limit": "20.00", "reason": "Trial"}))

    assert not isinstance(outcome, Exception), repr(outcome)
    assert outcome.status_code == 302
    assert not CostBudget.objects.exists() and not CostBudgetChange.objects.exists()
    messages = [str(message) for message in outcome.wsgi_request._messages]
    assert any("Your account was deleted meanwhile" in message for message in messages), messages
