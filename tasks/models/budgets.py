"""Monthly cost budgets of users: the limit in force and the append-only record of every change.

The site's own budget is a setting (`PRESSROOM_MONTHLY_BUDGET`); a user may also have a personal
one, which reviewers set (`tasks.budgets.budget_set`). `CostBudget` holds the limit in force, one
row per user, and is the row that `budget_set` locks; `CostBudgetChange` records who changed it,
when, from what to what and why. Changes are inserted, never updated or deleted (the database
refuses both), so a budget's history survives whatever happens to the limit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tasks.models.append_only import AppendOnlyModel

LIMIT_MAX_DIGITS = 12
LIMIT_DECIMAL_PLACES = 2
REASON_MAX_LENGTH = 500


def limit_field(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=LIMIT_MAX_DIGITS, decimal_places=LIMIT_DECIMAL_PLACES, null=True, blank=True,
        **kwargs,
    )


class CostBudget(models.Model):
    """A user's personal monthly limit in USD; empty: no personal limit (the site's still applies)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cost_budget")
    monthly_limit = limit_field(
        "monthly limit (USD)",
        help_text="What this user's tasks last queued in one calendar month may cost together; empty: no "
        "personal limit. 0 allows only free models.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "cost budget"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_limit__isnull=True) | models.Q(monthly_limit__gte=0),
                name="cost_budget_limit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Budget of {self.user}"


class CostBudgetChange(AppendOnlyModel):
    """One change of a user's monthly limit: who, when, old → new (empty: no personal limit), why."""

    # db_index=False: budget_change_user_time (user, changed_at) serves every lookup by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cost_budget_changes", db_index=False
    )
    old_limit = limit_field("old limit (USD)")
    new_limit = limit_field("new limit (USD)")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cost_budget_changes_made",
    )
    reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "changed_at"]
        verbose_name = "cost budget change"
        indexes = [models.Index(fields=["user", "changed_at"], name="budget_change_user_time")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(old_limit__isnull=True) | models.Q(old_limit__gte=0))
                & (models.Q(new_limit__isnull=True) | models.Q(new_limit__gte=0)),
                name="cost_budget_change_limits_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.old_limit} → {self.new_limit}"
