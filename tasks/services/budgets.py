"""Monthly cost budgets: what a month has committed, whether a brief fits, and raising a limit.

Two limits apply to a new task: the site's (`PRESSROOM_MONTHLY_BUDGET`, USD; unset or 0: none)
and its creator's personal one (`CostBudget`, which reviewers set with `budget_set`; none by
default). A month is a calendar month in the site's time zone (`TIME_ZONE`), and its spend is
what the tasks last *queued* in it (`queued_at`: created, retried or sent back for a revision)
have committed: a finished task's `actual_cost`, and for a queued or running one what it had
spent before this run (`cost_at_queueing`) plus its `estimated_cost` (or what it spent, if more),
since the money is as good as spent once the task is queued. A task counts whole in one month:
retried in a later month, it moves there with what it spent before. (The dashboard's "Spend"
card counts version costs by the day they were made instead; this figure is the one a budget can
refuse on before anything runs.)

`budget_check` is what `task_create` and `task_retry` call inside their transaction: it takes a
transaction-scoped PostgreSQL advisory lock for each budget that applies (the site's, the
user's) before it sums that budget's month, so of two concurrent creations under one budget the
second waits for the first to commit and counts its task; an over-budget brief raises
`BudgetExceeded` (409). A retry is checked as what the month will hold once it is queued: the
month without the task, plus what the task already spent, plus the new run's estimate. `task_update` checks the rise when a queued brief's estimate grows. A
reviewer's revision request is not checked (the review service calls
`task_requeue_for_revision`): it is the decision of someone who may raise the budget anyway,
and its cost still lands on the task.
Imports flow one way: this module knows nothing of `content` or `publishing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections, router, transaction
from django.db.models import Case, DecimalField, F, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from config.locks import BUDGETS, advisory_xact_lock, rows_kept
from tasks.exceptions import DomainError, NoLongerExists
from tasks.models import FINISHED_STATUSES, CostBudget, CostBudgetChange, GenerationTask
from tasks.models.budgets import LIMIT_DECIMAL_PLACES, LIMIT_MAX_DIGITS

SITE, USER = "site", "user"
INT4_MAX = 2**31 - 1
LIMIT_MAX = Decimal(10) ** (LIMIT_MAX_DIGITS - LIMIT_DECIMAL_PLACES) - Decimal("0.01")
# Sums and what remains of a limit: a limit holds up to 10 integer digits and a task's cost 6
# decimals, so a month's spend or the remainder of the largest limit (and its sign) need 20 digits
# (with 14, a limit of 100,000,000 USD made every read of that budget fail on quantize).
AMOUNT_DIGITS, AMOUNT_DECIMALS = 20, 6
MONEY = DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_DECIMALS)
ZERO = Decimal("0")


@dataclass(frozen=True)
class BudgetStatus:
    """One budget as it stands this month, and what a brief costing `estimate` would do to it."""

    scope: str  # SITE or USER
    limit: Decimal
    spent: Decimal
    estimate: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.limit - self.spent, ZERO)

    @property
    def would_exceed(self) -> bool:
        """A brief that costs something and takes the month's spend past the limit; a free one
        never does (a user with a limit of 0 may still use free models)."""
        return self.estimate > 0 and self.spent + self.estimate > self.limit

    def as_dict(self) -> dict:
        return {"scope": self.scope, "limit": str(self.limit.quantize(Decimal("0.01"))), "spent": _money(self.spent),
                "estimate": _money(self.estimate), "remaining": _money(self.remaining),
                "would_exceed": self.would_exceed}


def _money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.000001")))


class BudgetExceeded(DomainError):
    """A brief would take a monthly budget past its limit (409, with the figures in `budget`)."""

    status_code = 409
    code = "budget_exceeded"

    def __init__(self, status: BudgetStatus):
        self.budget = status
        whose = "the site's monthly budget" if status.scope == SITE else "your monthly budget"
        remedy = ("The site's budget is set by PRESSROOM_MONTHLY_BUDGET." if status.scope == SITE
                  else "A reviewer can raise your budget.")
        super().__init__(
            f"This brief's estimated cost (${_money(status.estimate)}) would exceed {whose}: "
            f"${_money(status.spent)} of ${status.limit} is committed this month, ${_money(status.remaining)} "
            f"remains. {remedy}"
        )

    @property
    def details(self) -> dict:
        return {"budget": self.budget.as_dict()}


def month_start(now: datetime | None = None) -> datetime:
    """Midnight of the first day of `now`'s month in the site's time zone."""
    local = timezone.localtime(now or timezone.now(), timezone.get_default_timezone())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


COMMITTED = Case(
    When(status__in=FINISHED_STATUSES, then=F("actual_cost")),
    default=Greatest(F("actual_cost"), F("cost_at_queueing") + Coalesce(F("estimated_cost"), Value(ZERO))),
    output_field=MONEY,
)


def month_spend(*, user=None, now: datetime | None = None, retrying: GenerationTask | None = None) -> Decimal:
    """What the tasks last queued this month (all of them, or `user`'s) have committed.

    With `retrying`, the month as it will be once that task is queued again, but for the new
    run's estimate: without the task as it stands, plus what it spent so far.
    """
    tasks = GenerationTask.objects.filter(queued_at__gte=month_start(now))
    if user is not None:
        tasks = tasks.filter(created_by=user)
    if retrying is not None:
        tasks = tasks.exclude(pk=retrying.pk)
    spent = tasks.aggregate(total=Coalesce(Sum(COMMITTED), Value(ZERO), output_field=MONEY))["total"]
    return spent + retrying.actual_cost if retrying is not None else spent


def with_month_spend(budgets, *, now: datetime | None = None):
    """`CostBudget` rows annotated with `month_spend` (what their user committed this month), in
    the same query: the admin's list shows it for a page of budgets at once."""
    spent = (
        GenerationTask.objects.filter(created_by=OuterRef("user"), queued_at__gte=month_start(now))
        .order_by().values("created_by").annotate(total=Sum(COMMITTED)).values("total")
    )
    return budgets.annotate(month_spend=Coalesce(Subquery(spent, output_field=MONEY), Value(ZERO), output_field=MONEY))


@cache
def user_limit_sql() -> str:
    """The query of a user's personal monthly limit, the user's id its one parameter."""
    meta = CostBudget._meta
    return (f'SELECT "{meta.get_field("monthly_limit").column}" FROM "{meta.db_table}" '
            f'WHERE "{meta.get_field("user").column}" = %s LIMIT 1')


def user_limit(user) -> Decimal | None:
    """The user's personal monthly limit (None: none). Every creation asks, so the query is SQL
    written once per process: the ORM spent ~0.3 ms of CPU building it for each request."""
    if user is None or user.pk is None:
        return None
    with connections[router.db_for_read(CostBudget)].cursor() as cursor:
        cursor.execute(user_limit_sql(), [user.pk])
        row = cursor.fetchone()
    return None if row is None else row[0]


UNREAD = object()  # a personal limit not read yet (`budget_statuses` reads it)


def budget_statuses(user, *, estimate: Decimal = ZERO, now: datetime | None = None, lock: bool = False,
                    retrying: GenerationTask | None = None, personal_limit=UNREAD) -> list[BudgetStatus]:
    """The budgets that apply to `user` (the site's first, then their own), each with this month's
    spend and what a brief costing `estimate` would do; empty when neither is set.

    With `lock`, each budget's advisory lock is taken before its month is summed (see `budget_check`);
    with `retrying`, the spend is the month's once that task is queued again (see `month_spend`).
    `personal_limit` is `user_limit(user)` when the caller read it already, in the same statement
    as something else (`tasks.services.lifecycle.task_create`).
    """
    estimate = Decimal(estimate or 0)
    statuses = []
    site_limit = settings.PRESSROOM_MONTHLY_BUDGET
    if site_limit is not None:
        if lock:
            _lock(0)
        statuses.append(BudgetStatus(SITE, site_limit, month_spend(now=now, retrying=retrying), estimate))
    limit = user_limit(user) if personal_limit is UNREAD else personal_limit
    if limit is not None:
        if lock:
            _lock(user.pk % INT4_MAX + 1)
        statuses.append(BudgetStatus(USER, limit, month_spend(user=user, now=now, retrying=retrying), estimate))
    return statuses


def _lock(budget_id: int) -> None:
    advisory_xact_lock(BUDGETS, budget_id)  # 0: the site's budget, else the user's id + 1


def budget_check(*, user, estimate: Decimal, now: datetime | None = None,
                 retrying: GenerationTask | None = None, personal_limit=UNREAD) -> list[BudgetStatus]:
    """Refuse (`BudgetExceeded`) a brief costing `estimate` that a budget of `user`'s cannot take.

    Call it inside the transaction that queues the task: each budget that applies is locked (a
    transaction-scoped advisory lock, the site's before the user's, so two callers never
    deadlock) before its month is summed, and stays locked until that transaction ends, so a
    concurrent creation sums the month only after this one's task is committed. Without any
    budget set it costs one query (is there a personal limit?) and locks nothing. A limit set
    while a creation is under way applies from the next one. `retrying` is the task a retry
    queues again, `estimate` its new run's.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("budget_check must run inside the transaction that queues the task.")
    statuses = budget_statuses(user, estimate=estimate, now=now, lock=True, retrying=retrying,
                               personal_limit=personal_limit)
    for status in statuses:
        if status.would_exceed:
            raise BudgetExceeded(status)
    return statuses


def validate_limit(monthly_limit) -> Decimal | None:
    """A limit a budget can hold: None, or 0 … `LIMIT_MAX` USD with at most two decimals."""
    if monthly_limit is None:
        return None
    try:
        value = Decimal(monthly_limit)
    except (ArithmeticError, TypeError, ValueError):
        message = "The monthly limit must be an amount in USD."
        raise DomainError(message, fields={"monthly_limit": [message]}) from None
    if not value.is_finite() or value < 0 or value > LIMIT_MAX or value != value.quantize(Decimal("0.01")):
        message = f"Give an amount from 0 to {LIMIT_MAX} USD with at most two decimals."
        raise DomainError(message, fields={"monthly_limit": [message]})
    return value.quantize(Decimal("0.01"))


class BudgetPermissionDenied(DomainError):
    """The four-eyes rule: nobody raises (or removes) their own limit (403)."""

    status_code = 403
    code = "permission_denied"


def own_raise_refusal(*, user, by, old_limit: Decimal | None, new_limit: Decimal | None) -> str:
    """Why `by` may not make this change of `user`'s limit ("" when they may).

    With `PRESSROOM_FOUR_EYES` (the default), a limit is raised by someone else than its holder,
    as a task is approved by someone else than its author: a reviewer over budget asks another.
    Lowering one's own limit is always allowed.
    """
    raises = old_limit is not None and (new_limit is None or new_limit > old_limit)
    if settings.PRESSROOM_FOUR_EYES and raises and user.pk == by.pk:
        return "The four-eyes rule: another reviewer must raise or remove your own budget."
    return ""


@transaction.atomic
def budget_set(*, user, monthly_limit, by, reason: str = "") -> CostBudget:
    """Set `user`'s personal monthly limit (None: no personal limit) and record the change.

    The budget row is locked, so two reviewers changing it at once record two changes whose old
    and new limits chain. Setting the limit it already has changes and records nothing; raising
    one's own is refused under the four-eyes rule (`own_raise_refusal`). `user` or `by` deleted
    since the caller read them is `NoLongerExists` (404, a message in the admin), nothing stored.
    """
    limit = validate_limit(monthly_limit)
    CostBudget.objects.get_or_create(user=user)
    budget = CostBudget.objects.select_for_update().filter(user=user).first()
    # Both accounts were read before this transaction: one deleted since would fail the budget's
    # and the change's foreign keys at commit (a 500). They are kept after the budget's row is
    # locked, the order in which a user's deletion takes them (the budget first), so the two wait
    # for each other without a deadlock; a budget gone meanwhile went with its user.
    user_kept, by_kept = rows_kept((get_user_model(), user.pk), (get_user_model(), by.pk))
    if budget is None or not user_kept:
        raise NoLongerExists("This user was deleted meanwhile; no budget was set.")
    if not by_kept:
        raise NoLongerExists("Your account was deleted meanwhile; no budget was set.")
    if budget.monthly_limit == limit:
        return budget
    old = budget.monthly_limit
    refusal = own_raise_refusal(user=user, by=by, old_limit=old, new_limit=limit)
    if refusal:
        raise BudgetPermissionDenied(refusal)
    budget.monthly_limit = limit
    budget.updated_by = by
    budget.save(update_fields=["monthly_limit", "updated_by", "updated_at"])
    CostBudgetChange.objects.create(user=user, old_limit=old, new_limit=limit, changed_by=by, reason=reason)
    return budget
