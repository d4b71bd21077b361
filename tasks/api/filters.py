"""Query parameters of the task list: exact filters, ranges and a stable ordering.

An invalid value (`status=bogus`, `created_after=notadate`) is a 400 with field errors, never an
ignored filter: a client that misspells a status must not get every task back.
"""

from __future__ import annotations

import django_filters
from django import forms
from rest_framework.filters import OrderingFilter

from tasks.models import ApprovalStatus, GenerationTask, ModelCatalogEntry, Phase, Status, TaskType


class IntegerFilter(django_filters.NumberFilter):
    """django-filter's NumberFilter parses decimals; priorities are whole numbers."""

    field_class = forms.IntegerField


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    phase = django_filters.ChoiceFilter(choices=Phase.choices)
    task_type = django_filters.ChoiceFilter(choices=TaskType.choices)
    approval_status = django_filters.ChoiceFilter(choices=ApprovalStatus.choices)
    priority = IntegerFilter()
    priority_min = IntegerFilter(field_name="priority", lookup_expr="gte")
    priority_max = IntegerFilter(field_name="priority", lookup_expr="lte")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    # Disabled models stay filterable: old tasks still name them.
    model = django_filters.ModelChoiceFilter(queryset=ModelCatalogEntry.objects.all(), to_field_name="key")

    class Meta:
        model = GenerationTask
        fields = [
            "status", "phase", "task_type", "approval_status", "priority", "priority_min", "priority_max",
            "created_after", "created_before", "model",
        ]


class StableOrderingFilter(OrderingFilter):
    """Break ties by primary key, so that pages of tasks with equal priority or status neither
    repeat nor skip rows."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        return [*ordering, "pk"] if ordering else ordering
