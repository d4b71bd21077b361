"""What the oversight hub's dashboard and feedback analytics show: reads only, scoped to the viewer.

Each selector takes the user who is looking and counts only the tasks they may see
(`GenerationTask.objects.visible_to`: editors their own, reviewers and superusers all), so the
panels, the charts and the analytics agree with the task list. Days and months are counted in
the site's time zone. Spend is the sum of `ContentVersion.cost` by the version's `created_at`:
a version records what one model call cost when it was made, while a task's `actual_cost` is a
running total that retries and revisions keep adding to, and would put a month's spend on the
day the task last finished. The monthly budget card is the exception: it shows the budgets'
own measure (`tasks.services.budgets`), the spend committed by the tasks last queued this month, site-wide
and the viewer's own, whatever the viewer may see. The page layout and the charts live in `config.admin_site`.
Imports flow publishing -> content -> tasks.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from content import selectors as content_selectors
from content.models import ApprovalEvent, ContentVersion, Decision
from publishing.models import Post
from tasks.models import FINISHED_STATUSES, GenerationTask, Status
from tasks.services.budgets import SITE, USER, month_spend, user_limit
from tasks.visibility import TaskVisibility

PANEL_ROWS = 10
CHART_DAYS = 30
ANALYTICS_MONTHS = 12
FAILED_STATUSES = (Status.FAILED, Status.TIMED_OUT)
REVIEW_PERMISSION = "content.review_content"


def visible_tasks(user):
    return GenerationTask.objects.visible_to(user)


def visible_rows(user, rows):
    """The rows of a task's history (`rows`: versions, decisions) whose task the viewer may see."""
    return TaskVisibility.of(user).filter_rows(rows)


def queue_depth(user) -> list[dict]:
    """Every status with how many of the viewer's visible tasks are in it (zeros included)."""
    counts = dict(visible_tasks(user).order_by().values_list("status").annotate(n=Count("pk")))
    return [{"status": status.value, "label": status.label, "count": counts.get(status.value, 0)} for status in Status]


def running_tasks(user, *, limit: int = PANEL_ROWS):
    """Running tasks, the longest-running first."""
    return visible_tasks(user).filter(status=Status.RUNNING).select_related("model").order_by("started_at")[:limit]


def running_task(user, task_id: str) -> GenerationTask | None:
    """The running task `task_id` if the viewer may see it (the dashboard's live "Running now"
    adds its row when it starts), else None; also for an id that is not a UUID."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError:
        return None
    return visible_tasks(user).filter(status=Status.RUNNING, pk=pk).select_related("model").first()


def awaiting_review(user, *, limit: int = PANEL_ROWS):
    """Completed tasks whose current version waits for a decision, the one waiting longest first.

    For a reviewer that is every such task they may decide ("awaiting my review": under the
    four-eyes rule, not their own); an editor sees their own. The queue is `content.selectors.awaiting_review`,
    which the task list's review queue shows too.
    """
    return (
        content_selectors.awaiting_review(user)
        .select_related("model", "created_by")
        .order_by("finished_at", "created_at")[:limit]
    )


def awaiting_review_count(user) -> int:
    """How many tasks `awaiting_review` lists without its limit: the task list's Review queue count."""
    return content_selectors.awaiting_review(user).count()


def recent_decisions_by(user, *, limit: int = PANEL_ROWS):
    """The editorial decisions `user` took last (approvals, rejections, publications…), newest
    first: the dashboard's side column, where the admin's own log knew only form saves and said
    "None available" to a reviewer who had decided all day on the task pages and through the API."""
    return list(ApprovalEvent.objects.filter(actor=user).select_related("task").order_by("-created_at")[:limit])


def recent_failures(user, *, now: datetime | None = None, hours: int = 24, limit: int = PANEL_ROWS):
    """Tasks that failed or timed out in the last `hours`, newest first, each with its `error`."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    return (
        visible_tasks(user)
        .filter(status__in=FAILED_STATUSES, finished_at__gte=since)
        .select_related("model")
        .order_by("-finished_at")[:limit]
    )


def recently_published(*, limit: int = 5):
    """The newest public posts. They are on the blog for anyone to read, so every viewer sees them."""
    return Post.objects.published().select_related("category").order_by("-published_at")[:limit]


def cost_totals(user, *, now: datetime | None = None) -> dict[str, Decimal]:
    """Spend today and this month (site time zone) on the viewer's visible tasks."""
    local_now = timezone.localtime(now or timezone.now())
    start_of_day = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    start_of_month = start_of_day.replace(day=1)
    versions = visible_rows(user, ContentVersion.objects.all())

    def spent_since(moment: datetime) -> Decimal:
        return versions.filter(created_at__gte=moment).aggregate(total=Sum("cost"))["total"] or Decimal(0)

    return {"today": spent_since(start_of_day), "month": spent_since(start_of_month)}


@dataclass(frozen=True)
class BudgetRow:
    """This month's committed spend of the site or of the viewer, against its limit (None: no limit)."""

    scope: str  # budgets.SITE or budgets.USER
    spent: Decimal
    limit: Decimal | None

    @property
    def percent(self) -> int:
        """How full the budget is, 0–100 (a bar cannot go past its end; `over` says it did)."""
        if self.limit is None:
            return 0
        if self.limit == 0:
            return 100 if self.spent > 0 else 0
        return min(100, int(self.spent * 100 / self.limit))

    @property
    def over(self) -> bool:
        return self.limit is not None and self.spent > self.limit

    @property
    def remaining(self) -> Decimal | None:
        return None if self.limit is None else max(self.limit - self.spent, Decimal(0))


def budget_overview(user, *, now: datetime | None = None) -> list[BudgetRow]:
    """The site's spend this month and the viewer's own, each against its monthly budget.

    Spend here is the budgets' measure (`tasks.services.budgets`): what the tasks created this
    month committed, estimates of queued and running ones included, so the bar shows what
    creation is refused on. Both rows are shown even without a limit, so "no limit" is visible.
    """
    return [
        BudgetRow(SITE, month_spend(now=now), settings.PRESSROOM_MONTHLY_BUDGET),
        BudgetRow(USER, month_spend(user=user, now=now), user_limit(user)),
    ]


@dataclass
class DailySeries:
    """Values per day over a window of days, oldest first; a day with nothing holds zero."""

    days: list[date]
    series: dict[str, list] = field(default_factory=dict)


def _window(now: datetime | None, days: int) -> tuple[list[date], datetime]:
    """The last `days` local dates ending today, and the moment the first of them starts."""
    today = timezone.localdate(now or timezone.now())
    window = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    start = timezone.make_aware(datetime.combine(window[0], datetime.min.time()))
    return window, start


def finished_per_day(user, *, now: datetime | None = None, days: int = CHART_DAYS) -> DailySeries:
    """Tasks that finished each day, by outcome (completed, failed, cancelled, timed out)."""
    window, start = _window(now, days)
    rows = (
        visible_tasks(user)
        .filter(status__in=FINISHED_STATUSES, finished_at__gte=start)
        .annotate(day=TruncDate("finished_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("day", "status")
        .annotate(n=Count("pk"))
    )
    counts = {(day, status): n for day, status, n in rows}
    return DailySeries(
        days=window,
        series={status.value: [counts.get((day, status.value), 0) for day in window] for status in FINISHED_STATUSES},
    )


def cost_per_day(user, *, now: datetime | None = None, days: int = CHART_DAYS) -> DailySeries:
    """Spend per day (sum of version costs) on the viewer's visible tasks."""
    window, start = _window(now, days)
    rows = (
        visible_rows(user, ContentVersion.objects.filter(created_at__gte=start))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("day")
        .annotate(total=Sum("cost"))
    )
    totals = dict(rows)
    return DailySeries(days=window, series={"cost": [totals.get(day, Decimal(0)) for day in window]})


@dataclass
class RejectionReasons:
    """Rejection reasons counted by model and by month, with the labels to show them by."""

    reasons: list[str]  # reason codes, most frequent first
    models: list[str]  # model display names, most rejected first
    months: list[date]  # first day of each month with a rejection, oldest first
    by_model: dict[str, Counter]
    by_month: dict[date, Counter]
    total: int


def rejection_reasons(user, *, now: datetime | None = None, months: int = ANALYTICS_MONTHS) -> RejectionReasons:
    """Reasons given with rejections of the viewer's visible tasks over the last `months` months.

    A rejection may give several reasons; each counts once. Rejections are human decisions, a few
    a day, so the reason arrays are counted here rather than unnested in SQL.
    """
    local_now = timezone.localtime(now or timezone.now())
    first_month = local_now.date().replace(day=1)
    for _ in range(months - 1):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    since = timezone.make_aware(datetime.combine(first_month, datetime.min.time()))
    rows = (
        visible_rows(user, ApprovalEvent.objects.filter(decision=Decision.REJECTED, created_at__gte=since))
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("task__model__display_name", "month", "reasons")
    )
    by_model: dict[str, Counter] = {}
    by_month: dict[date, Counter] = {}
    overall: Counter = Counter()
    for model_name, month, reasons in rows:
        month = month.date() if isinstance(month, datetime) else month
        for reason in set(reasons or ()):
            by_model.setdefault(model_name, Counter())[reason] += 1
            by_month.setdefault(month, Counter())[reason] += 1
            overall[reason] += 1
    models = sorted(by_model, key=lambda name: (-sum(by_model[name].values()), name))
    reasons = sorted(overall, key=lambda code: (-overall[code], code))
    return RejectionReasons(
        reasons=reasons, models=models, months=sorted(by_month), by_model=by_model, by_month=by_month,
        total=sum(overall.values()),
    )


def can_review(user) -> bool:
    return user.has_perm(REVIEW_PERMISSION)
