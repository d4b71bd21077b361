"""The oversight hub's dashboard: its selectors and the chart builder.

Selectors run on rows the factories build at known times (`timezone.now()` is under the test's
control, since versions and audit rows take their `created_at` from it and cannot be changed
afterwards).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from content.models import ApprovalEvent
from publishing import dashboard
from publishing.charts import Series, bar_chart
from tasks.models import ModelCatalogEntry
from tests.factories import make_task, make_user, make_version

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """`timezone.now()` under the test's control; `clock.now` moves it."""

    class Clock:
        now = NOW

    fake = Clock()
    monkeypatch.setattr(timezone, "now", lambda: fake.now)
    return fake


def _at(clock, moment: datetime):
    clock.now = moment
    return moment


def _finished(status: str, at: datetime, **fields):
    return make_task(status=status, finished_at=at, **fields)


def _reject(clock, task, reasons, *, at: datetime, actor=None):
    _at(clock, at)
    return ApprovalEvent.objects.create(
        task=task, decision="rejected", actor=actor, feedback="Not yet.", reasons=reasons
    )

# --- Selectors -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_depth_counts_every_status_including_empty_ones(reviewer):
    for status in ("queued", "queued", "running"):
        make_task(status=status)
    _finished("failed", NOW)

    counts = {row["status"]: row["count"] for row in dashboard.queue_depth(reviewer)}

    assert counts == {"queued": 2, "running": 1, "completed": 0, "failed": 1, "cancelled": 0, "timed_out": 0}


@pytest.mark.django_db
def test_an_editor_sees_only_their_own_tasks_and_a_reviewer_sees_all(editor, other_editor, reviewer):
    mine = make_task(status="running", created_by=editor)
    make_task(status="running", created_by=other_editor)

    assert [row["count"] for row in dashboard.queue_depth(editor) if row["status"] == "running"] == [1]
    assert list(dashboard.running_tasks(editor)) == [mine]
    assert len(dashboard.running_tasks(reviewer)) == 2


@pytest.mark.django_db
def test_awaiting_review_lists_completed_pending_tasks_oldest_first(reviewer, editor, other_editor):
    newer = _finished("completed", NOW - timedelta(hours=1), created_by=editor)
    older = _finished("completed", NOW - timedelta(days=2), created_by=other_editor)
    _finished("completed", NOW - timedelta(days=3), approval_status="approved", created_by=editor)
    _finished("failed", NOW - timedelta(days=4), created_by=editor)

    assert list(dashboard.awaiting_review(reviewer)) == [older, newer]
    assert list(dashboard.awaiting_review(editor)) == [newer]


@pytest.mark.django_db
@pytest.mark.parametrize("four_eyes", [True, False])
def test_awaiting_review_leaves_out_a_reviewers_own_tasks_only_under_the_four_eyes_rule(
        reviewer, editor, settings, four_eyes):
    settings.PRESSROOM_FOUR_EYES = four_eyes
    others = _finished("completed", NOW - timedelta(days=1), created_by=editor)
    own = _finished("completed", NOW - timedelta(hours=1), created_by=reviewer)

    assert list(dashboard.awaiting_review(reviewer)) == ([others] if four_eyes else [others, own])


@pytest.mark.django_db
def test_failures_are_those_of_the_last_24_hours_newest_first_with_their_error(reviewer):
    timed_out = _finished("timed_out", NOW - timedelta(hours=2), error="No heartbeat for 90 s.")
    failed = _finished("failed", NOW - timedelta(hours=1), error="The model refused the prompt.")
    _finished("failed", NOW - timedelta(hours=25), error="Too old to show.")
    _finished("cancelled", NOW - timedelta(hours=1))

    failures = list(dashboard.recent_failures(reviewer, now=NOW))

    assert failures == [failed, timed_out]
    assert failures[0].error == "The model refused the prompt."


@pytest.mark.django_db
def test_cost_today_and_this_month_sum_version_costs_by_when_they_were_written(clock, reviewer, editor):
    task = make_task(created_by=editor)
    for moment, cost in [
        (NOW - timedelta(hours=2), "0.10"),  # today
        (NOW.replace(hour=0, minute=0), "0.05"),  # today, first minute
        (NOW - timedelta(days=1), "0.20"),  # this month
        (datetime(2025, 2, 28, 23, 59, tzinfo=UTC), "1.00"),  # last month
    ]:
        _at(clock, moment)
        make_version(task, cost=Decimal(cost))
    clock.now = NOW

    assert dashboard.cost_totals(reviewer) == {"today": Decimal("0.15"), "month": Decimal("0.35")}
    assert dashboard.cost_totals(make_user()) == {"today": Decimal(0), "month": Decimal(0)}


@pytest.mark.django_db
def test_finished_per_day_has_every_day_of_the_window_with_zeros_by_outcome(reviewer):
    _finished("completed", NOW - timedelta(hours=1))
    _finished("completed", NOW - timedelta(hours=3))
    _finished("failed", NOW - timedelta(days=1))
    _finished("timed_out", NOW - timedelta(days=29))
    _finished("completed", NOW - timedelta(days=30))  # outside the 30 days
    make_task(status="running")

    daily = dashboard.finished_per_day(reviewer, now=NOW)

    assert len(daily.days) == 30
    assert (daily.days[0], daily.days[-1]) == (date(2025, 2, 14), date(2025, 3, 15))
    assert daily.series["completed"][-1] == 2
    assert daily.series["failed"][-2] == 1
    assert daily.series["timed_out"][0] == 1
    assert sum(daily.series["cancelled"]) == 0
    assert sum(sum(values) for values in daily.series.values()) == 4


@pytest.mark.django_db
def test_cost_per_day_sums_each_day_and_leaves_quiet_days_at_zero(clock, reviewer):
    task = make_task()
    for moment, cost in [(NOW, "0.25"), (NOW - timedelta(hours=1), "0.50"), (NOW - timedelta(days=3), "0.01")]:
        _at(clock, moment)
        make_version(task, cost=Decimal(cost))

    daily = dashboard.cost_per_day(reviewer, now=NOW)

    costs = daily.series["cost"]
    assert len(costs) == 30
    assert costs[-1] == Decimal("0.75")
    assert costs[-4] == Decimal("0.01")
    assert costs.count(Decimal(0)) == 28


@pytest.mark.django_db
def test_rejection_reasons_are_counted_by_model_and_by_month(clock, editor, other_editor, reviewer):
    other_model = ModelCatalogEntry.objects.create(key="gpt-test", display_name="GPT test", provider="offline")
    offline_task = _finished("completed", NOW, created_by=editor)
    gpt_task = _finished("completed", NOW, created_by=other_editor, model=other_model)
    _reject(clock, offline_task, ["tone", "length"], at=datetime(2025, 2, 10, tzinfo=UTC), actor=reviewer)
    _reject(clock, offline_task, ["tone"], at=datetime(2025, 3, 2, tzinfo=UTC), actor=reviewer)
    _reject(clock, gpt_task, ["factual_error"], at=datetime(2025, 3, 3, tzinfo=UTC), actor=reviewer)
    _reject(clock, gpt_task, ["factual_error", "sources"], at=datetime(2025, 3, 4, tzinfo=UTC), actor=reviewer)
    _at(clock, NOW)
    ApprovalEvent.objects.create(task=gpt_task, decision="approved", actor=reviewer)

    everyone = dashboard.rejection_reasons(reviewer)
    own = dashboard.rejection_reasons(editor)

    offline_name = offline_task.model.display_name
    assert everyone.total == 6
    assert {name: dict(counter) for name, counter in everyone.by_model.items()} == {
        offline_name: {"tone": 2, "length": 1},
        "GPT test": {"factual_error": 2, "sources": 1},
    }
    assert everyone.months == [date(2025, 2, 1), date(2025, 3, 1)]
    assert dict(everyone.by_month[date(2025, 2, 1)]) == {"tone": 1, "length": 1}
    assert dict(everyone.by_month[date(2025, 3, 1)]) == {"tone": 1, "factual_error": 2, "sources": 1}
    assert everyone.reasons[:2] in (["factual_error", "tone"], ["tone", "factual_error"])
    assert list(own.by_model) == [offline_name]
    assert own.total == 3


@pytest.mark.django_db
def test_rejection_reasons_leave_out_months_before_the_window(clock, reviewer):
    task = _finished("completed", NOW)
    _reject(clock, task, ["other"], at=datetime(2024, 3, 31, tzinfo=UTC))
    _reject(clock, task, ["quality"], at=datetime(2024, 4, 1, tzinfo=UTC))
    clock.now = NOW

    data = dashboard.rejection_reasons(reviewer)

    assert data.months == [date(2024, 4, 1)]
    assert data.reasons == ["quality"]


# --- The chart builder ---------------------------------------------------------------------------


def test_bar_chart_escapes_every_label_and_titles_each_segment():
    svg = bar_chart(
        title='Costs <of> "everything"',
        categories=["<script>alert(1)</script>", "B & C"],
        series=[Series("a<b", [1, 2], "completed"), Series('q"uote', [0, 3])],
        x_label="x & y",
        y_label="<y>",
    )

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "B &amp; C — a&lt;b: 2</title>" in svg
    assert "B &amp; C — q&quot;uote: 3</title>" in svg
    assert 'aria-label="Costs &lt;of&gt; &quot;everything&quot;. Total: 6' in svg
    assert svg.startswith('<svg class="chart" role="img"')
    # Three non-zero values, three segments; a zero is not drawn.
    assert svg.count('class="chart__segment') == 3
    assert "x &amp; y" in svg and "&lt;y&gt;" in svg


def test_bar_chart_of_nothing_says_so_and_keeps_its_axes():
    svg = bar_chart(
        title="Empty", categories=["Mon", "Tue"], series=[Series("n", [0, 0])], x_label="day", y_label="n",
        empty_text="Nothing here",
    )

    assert "Nothing here" in svg
    assert 'class="chart__axis"' in svg
    assert "chart__segment" not in svg


def test_bar_chart_refuses_series_that_do_not_match_the_categories():
    with pytest.raises(ValueError):
        bar_chart(title="t", categories=["a"], series=[Series("s", [1, 2])], x_label="x", y_label="y")
