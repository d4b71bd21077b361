"""Query parameters of the task list: exact filters, ranges and a stable ordering.

An invalid value (`status=bogus`, `created_after=notadate`) is a 400 with field errors, never an
ignored filter: a client that misspells a status must not get every task back.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

from tasks.models import ApprovalStatus, GenerationTask, ModelCatalogEntry, Phase, Status, TaskType
from tasks.validators import validate_utc_offset


SEARCH_MAX_LENGTH = 200  # as the blog's search (publishing.search)

# The range of the integer column (PostgreSQL `integer`): a value outside it is a DataError.
COLUMN_INT_MIN, COLUMN_INT_MAX = -(2**31), 2**31 - 1


class ColumnIntegerField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", COLUMN_INT_MIN)
        kwargs.setdefault("max_value", COLUMN_INT_MAX)
        super().__init__(*args, **kwargs)


class IntegerFilter(django_filters.NumberFilter):
    """django-filter's NumberFilter parses decimals; priorities are whole numbers, within the
    column's range."""

    field_class = ColumnIntegerField


class UTCIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 datetime with a real time zone's UTC offset (`tasks.validators.validate_utc_offset`,
    the API's one rule), turned into UTC here; a value that leaves the calendar once in UTC
    (`9999-12-31T23:00-05:00`) is a field error too."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        validate_utc_offset(parsed)
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError("Enter a date and time within range.", code="invalid") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    phase = django_filters.ChoiceFilter(choices=Phase.choices)
    task_type = django_filters.ChoiceFilter(choices=TaskType.choices)
    approval_status = django_filters.ChoiceFilter(choices=ApprovalStatus.choices)
    priority = IntegerFilter()
    priority_min = IntegerFilter(field_name="priority", lookup_expr="gte")
    priority_max = IntegerFilter(field_name="priority", lookup_expr="lte")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lte")
    # Disabled models stay filterable: old tasks still name them.
    model = django_filters.ModelChoiceFilter(queryset=ModelCatalogEntry.objects.all(), to_field_name="key")

    class Meta:
        model = GenerationTask
        fields = [
            "status", "phase", "task_type", "approval_status", "priority", "priority_min", "priority_max",
            "created_after", "created_before", "model",
        ]


class BoundedSearchFilter(SearchFilter):
    """DRF's search, refusing (400) a search over SEARCH_MAX_LENGTH characters.

    Each word is one more set of ILIKE conditions, and PostgreSQL plans thousands of them in
    seconds to minutes (5,300 words, a 10 kB address: 92 s), a worker and a connection held
    that long by one request. No title or topic needs a longer search to be found.
    """

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if len(value) > SEARCH_MAX_LENGTH:
            raise ValidationError({self.search_param: [
                f"Ensure this search has no more than {SEARCH_MAX_LENGTH} characters (it has {len(value)})."]})
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["description"] = f"Words the title or topic contains; at most {SEARCH_MAX_LENGTH} characters."
            parameter["schema"]["maxLength"] = SEARCH_MAX_LENGTH
        return parameters


class StableOrderingFilter(OrderingFilter):
    """Break ties by primary key, so that pages of tasks with equal priority or status neither
    repeat nor skip rows. A field named again counts once, at its first mention: a thousand
    repetitions were resolved a thousand times for every statement of the page."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        first = {}
        for term in ordering:
            first.setdefault(term.lstrip("-"), term)
        return [*first.values(), "pk"]
