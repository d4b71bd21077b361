"""The admin of users' monthly cost budgets: reviewers set them, every change is recorded.

Saving goes through `budgets.budget_set`, as the budget API does, so the admin and the API
record the same history (who, when, old → new, why). The history is read-only: its newest
HISTORY_ROWS_SHOWN changes on the budget's page, all of them in their own list (`CostBudgetChangeAdmin`);
a budget is never deleted (its history must stay): emptying the limit removes the personal limit.
The add form takes the user by username (`config.admin_names`). Who may open these pages is the
model permissions' business: Reviewers hold view, add and change (`publishing.roles`), editors none.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

from config.admin_names import NamePicker, NamePickerAdminMixin
from tasks.admin_history import HISTORY_ROWS_SHOWN, AppendOnlyAdminMixin, rows_list_url
from tasks.exceptions import DomainError
from tasks.forms import format_usd
from tasks.models import CostBudget, CostBudgetChange
from tasks.models.budgets import REASON_MAX_LENGTH
from tasks.services.budgets import budget_set, month_spend, own_raise_refusal, validate_limit, with_month_spend


class CostBudgetForm(forms.ModelForm):
    reason = forms.CharField(
        required=False, max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the limit changes; kept in the budget's history.",
    )

    class Meta:
        model = CostBudget
        fields = ["user", "monthly_limit"]

    changed_by = None  # the user at the page; set by the admin

    def clean_monthly_limit(self):
        try:
            limit = validate_limit(self.cleaned_data.get("monthly_limit"))
        except DomainError as error:
            raise forms.ValidationError(str(error)) from None
        user = self.instance.user if not self.instance._state.adding else self.cleaned_data.get("user")
        if user is not None and self.changed_by is not None:
            old = CostBudget.objects.filter(user=user).values_list("monthly_limit", flat=True).first()
            refusal = own_raise_refusal(user=user, by=self.changed_by, old_limit=old, new_limit=limit)
            if refusal:
                raise forms.ValidationError(refusal)
        return limit


def _spend_against_limit(spent, limit):
    """"$12.35 (31% of the limit)"; past the limit, in the error colour. The share and its sign
    never part at the end of a line, nor the sign and "of" ("0 %" broke there on a phone)."""
    if not limit:  # no personal limit, or 0 (free models only): a share means nothing
        return format_usd(spent)
    return format_html('<span class="budget-spend{}">{} ({}%\u00a0of the limit)</span>',
                       " budget-spend--over" if spent > limit else "", format_usd(spent), f"{spent / limit * 100:.0f}")


def _limit_text(limit) -> str:
    """A limit as a change of it shows it: "none" for no personal limit."""
    return "none" if limit is None else format_usd(limit)


@admin.register(CostBudget)
class CostBudgetAdmin(NamePickerAdminMixin, admin.ModelAdmin):
    form = CostBudgetForm
    # A <select> of every user was 261 kB at 5,000 users: the user is typed by name (`config.admin_names`).
    name_pickers = {"user": NamePicker(get_user_model(), column=get_user_model().USERNAME_FIELD, any_case=False)}
    list_display = ("user", "limit_cell", "spent_cell", "updated_by", "updated_at")
    list_select_related = ("user", "updated_by")
    search_fields = ("user__username",)
    readonly_fields = ("spent_this_month", "updated_by", "updated_at", "history")

    class Media:
        css = {"all": ("tasks/budget-admin.css",)}

    def get_fieldsets(self, request, obj=None):
        first = ("user", "monthly_limit", "reason") if obj is None else ("monthly_limit", "reason")
        if obj is None:
            return ((None, {"fields": first}),)
        return ((None, {"fields": first}), ("This month", {"fields": ("spent_this_month",)}),
                ("History", {"fields": ("updated_by", "updated_at", "history")}))

    def get_readonly_fields(self, request, obj=None):
        readonly = self.readonly_fields
        return (*readonly, "user") if obj is not None else readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"changed_by": request.user})

    # A refusal by the service after the form passed (a concurrent change, say) is a message, as
    # on every admin of the site (config/admin_site.py, SiteRulesMixin).

    def has_delete_permission(self, request, obj=None):
        return False  # the history must stay; an empty limit removes the personal limit

    @admin.display(description="monthly limit", ordering="monthly_limit")
    def limit_cell(self, budget: CostBudget) -> str:
        return "no personal limit" if budget.monthly_limit is None else format_usd(budget.monthly_limit)

    def get_queryset(self, request):
        return with_month_spend(super().get_queryset(request))

    @admin.display(description="committed this month", ordering="month_spend")
    def spent_cell(self, budget: CostBudget) -> str:
        return _spend_against_limit(budget.month_spend, budget.monthly_limit)

    @admin.display(description="committed this month")
    def spent_this_month(self, budget: CostBudget) -> str:
        return _spend_against_limit(month_spend(user=budget.user), budget.monthly_limit)

    @admin.display(description="changes")
    def history(self, budget: CostBudget) -> str:
        """The newest HISTORY_ROWS_SHOWN changes, newest first, and a link to all of them: a budget
        changed 2,000 times listed each (164 kB)."""
        changes = CostBudgetChange.objects.filter(user=budget.user)
        newest = list(changes.select_related("changed_by").order_by("-changed_at", "-pk")[:HISTORY_ROWS_SHOWN])
        if not newest:
            return "—"
        total = len(newest) if len(newest) < HISTORY_ROWS_SHOWN else changes.count()
        rows = format_html_join("", "<li>{}: {} → {} by {}{}</li>", (
            (change.changed_at.strftime("%Y-%m-%d %H:%M"), _limit_text(change.old_limit), _limit_text(change.new_limit),
             change.changed_by, f" — {change.reason}" if change.reason else "")
            for change in newest
        ))
        note = render_to_string("admin/tasks/newest_rows_note.html", {
            "shown": len(newest), "total": total, "kind": CostBudgetChange._meta.verbose_name_plural,
            "url": rows_list_url(CostBudgetChange, "user", budget.user), "order": ", newest first"})
        return format_html('<ul class="budget-history">{}</ul>{}', rows, note)

    def save_model(self, request, obj, form, change):
        # The service, not `obj.save()`: it locks the row and records the change.
        budget = budget_set(user=obj.user, monthly_limit=form.cleaned_data["monthly_limit"], by=request.user,
                            reason=form.cleaned_data.get("reason", ""))
        obj.pk = budget.pk
        obj._state.adding = False


@admin.register(CostBudgetChange)
class CostBudgetChangeAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """Every change of users' limits, newest first, read-only: where a budget's page sends the reader
    for more than its newest changes (`?user__id__exact=`)."""

    list_display = ("changed_at", "user", "old_cell", "new_cell", "changed_by", "reason")
    list_select_related = ("user", "changed_by")
    search_fields = ("user__username", "reason")
    ordering = ("-changed_at", "-pk")

    @admin.display(description="old limit", ordering="old_limit")
    def old_cell(self, change: CostBudgetChange) -> str:
        return _limit_text(change.old_limit)

    @admin.display(description="new limit", ordering="new_limit")
    def new_cell(self, change: CostBudgetChange) -> str:
        return _limit_text(change.new_limit)
