"""Budget API: a user's monthly cost budget, read by them and by reviewers, set by reviewers.

`GET /api/budgets/{user_id}` shows a user's personal limit, what their tasks have committed this
month, the site's budget beside it and the limit's history; a user may read their own, holders
of `tasks.view_costbudget` (Reviewers) anyone's, and anyone else gets a 404. `PUT` sets the
limit (null: no personal limit) through `budgets.budget_set`, which records who changed it, when,
from what to what and why; it needs `tasks.change_costbudget` (Reviewers, superusers), as the
admin's budget pages do.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import BoundedJSONParser
from tasks.api.permissions import TaskActionPermission
from tasks.api.serializers import RejectUnknownFieldsMixin, StrictCharField
from tasks.models import CostBudget, CostBudgetChange
from tasks.models.budgets import LIMIT_DECIMAL_PLACES, LIMIT_MAX_DIGITS, REASON_MAX_LENGTH
from tasks.services.budgets import (
    AMOUNT_DECIMALS, AMOUNT_DIGITS, SITE, USER, budget_set, budget_statuses, month_spend,
)

VIEW_ANY_BUDGET = "tasks.view_costbudget"
CHANGES_SHOWN = 50  # the whole history is on the budget's admin page
CHANGE_BUDGET = "tasks.change_costbudget"
USER_ID = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The user's id.")


class MonthlyLimitField(serializers.DecimalField):
    """USD with at most two decimals, as a JSON number or string; null clears the personal limit.
    NaN and infinities are refused like any other non-number."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=LIMIT_MAX_DIGITS, decimal_places=LIMIT_DECIMAL_PLACES, min_value=0,
                         allow_null=True, coerce_to_string=True, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not value.is_finite():
            self.fail("invalid")
        return value


class BudgetInput(RejectUnknownFieldsMixin, serializers.Serializer):
    monthly_limit = MonthlyLimitField(help_text="USD per calendar month (site time zone); null: no personal limit.")
    reason = StrictCharField(max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, default="",
                             help_text="Why, for the budget's history.")


class BudgetChangeOutput(serializers.ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CostBudgetChange
        fields = ["old_limit", "new_limit", "changed_by", "reason", "changed_at"]


class BudgetStatusOutput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=[SITE, USER])
    limit = serializers.DecimalField(max_digits=12, decimal_places=2)
    spent = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_DECIMALS)
    remaining = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_DECIMALS)


class BudgetOutput(serializers.Serializer):
    user = serializers.IntegerField()
    username = serializers.CharField()
    monthly_limit = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                             help_text="The personal limit; null: none.")
    spent_this_month = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_DECIMALS, help_text=(
        "What the user's tasks last queued this month (created, retried or sent back for a revision) committed: "
        "finished ones their cost, queued and running ones what they spent before plus their estimate."))
    budgets = BudgetStatusOutput(many=True, help_text="The limits in force for this user: the site's, their own.")
    updated_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    changes = BudgetChangeOutput(many=True, help_text=f"The latest {CHANGES_SHOWN} changes of the limit, newest first.")


def budget_body(user) -> dict:
    budget = CostBudget.objects.select_related("updated_by").filter(user=user).first()
    return BudgetOutput({
        "user": user.pk,
        "username": user.get_username(),
        "monthly_limit": budget.monthly_limit if budget else None,
        "spent_this_month": month_spend(user=user),
        "budgets": budget_statuses(user),
        "updated_by": budget.updated_by.get_username() if budget and budget.updated_by else None,
        "updated_at": budget.updated_at if budget else None,
        "changes": CostBudgetChange.objects.filter(user=user).select_related("changed_by")
        .order_by("-changed_at", "-pk")[:CHANGES_SHOWN],
    }).data


class UserBudgetApi(APIView):
    permission_classes = [IsAuthenticated, TaskActionPermission]
    collection_permissions = {"PUT": CHANGE_BUDGET}
    parser_classes = [BoundedJSONParser]

    def get_user(self, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        if user.pk != self.request.user.pk and not self.request.user.has_perm(VIEW_ANY_BUDGET):
            raise Http404  # someone else's budget: not found, as someone else's task is
        return user

    @extend_schema(tags=["budgets"], summary="A user's monthly cost budget and this month's spend",
                   description="Your own, or anyone's with the Reviewers' permission (a 404 otherwise).",
                   parameters=[USER_ID], responses=BudgetOutput)
    def get(self, request, user_id):
        return Response(budget_body(self.get_user(user_id)))

    @extend_schema(tags=["budgets"], summary="Set a user's monthly cost budget (reviewers)",
                   description="Raises, lowers or (null) removes the personal limit; the change is recorded with "
                   "who made it and why. Tasks already queued are not touched.",
                   parameters=[USER_ID], request=BudgetInput, responses=BudgetOutput)
    def put(self, request, user_id):
        user = self.get_user(user_id)
        data = BudgetInput(data=request.data)
        data.is_valid(raise_exception=True)
        budget_set(user=user, monthly_limit=data.validated_data["monthly_limit"], by=request.user,
                   reason=data.validated_data["reason"])
        return Response(budget_body(user))
