"""The brief form of the oversight hub: what the API accepts, with help a person needs to fill it in.

The form adds to the model's fields what the API adds: pasted research notes, source URLs (one per
line, checked as the API checks them) and, on a task that is open in the admin, the event sequence
the page was rendered at, so that a save made on an outdated page is refused by `task_update`.
It shows each catalog model with its prices and disables those that cannot run here, with the
reason; it suggests the blog's categories and tags through `vocabulary`, which the admin fills in
(`tasks` never imports `publishing`). The blog-only fields mean nothing to an image task: the
script hides them and `clean` drops whatever was posted in them.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.html import format_html, format_html_join

from tasks.exceptions import DomainError
from tasks.models import GenerationTask, ModelCatalogEntry, TaskType
from tasks.models.task import WORD_COUNT_MAX, WORD_COUNT_MIN
from tasks.selectors import model_unavailable_reason
from tasks.services.budgets import BudgetExceeded, budget_statuses
from tasks.services.lifecycle import (
    RESEARCH_NOTES_HELP,
    RESEARCH_NOTES_MAX,
    SOURCE_URLS_MAX,
    estimate_cost,
    with_research,
)
from tasks.validators import (
    JSON_MAX_DEPTH, nested_deeper_than, unstorable_text, validate_public_http_url, validate_shown_line
)

# Fields that only a blog post uses; an image task is a title, a topic, a model and a priority.
BLOG_ONLY_FIELDS = (
    "word_count", "word_count_tolerance", "strict_mode", "style", "tone", "target_audience", "primary_keyword",
    "category", "tags", "research_notes", "source_urls",
)


def format_usd(amount: Decimal | None) -> str:
    """"$0.07", "$0.0069" (two significant digits below a cent), "$0.00"; the same as task-form.js."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount == 0 or amount >= Decimal("0.01"):
        return f"${amount:,.2f}"
    digits = max(2, -amount.adjusted() + 1)
    return f"${amount:.{digits}f}"


def price_label(entry: ModelCatalogEntry) -> str:
    if not entry.input_price_per_million and not entry.output_price_per_million:
        return f"{entry.display_name} — free"
    return (
        f"{entry.display_name} — {format_usd(entry.input_price_per_million)} in / "
        f"{format_usd(entry.output_price_per_million)} out per 1M tokens"
    )


class CatalogModelChoiceField(forms.ModelChoiceField):
    """A catalog model, labelled with its prices; one that cannot run here is refused with the reason."""

    def label_from_instance(self, entry: ModelCatalogEntry) -> str:
        return price_label(entry)

    def validate(self, value):
        super().validate(value)
        if value is not None:
            reason = model_unavailable_reason(value)
            if reason:
                raise ValidationError(f"{value.display_name} cannot run here: {reason}.", code="unusable_model")


class StorableJSONField(forms.JSONField):
    """Django's JSON form field, refusing what PostgreSQL cannot store (a NUL or a lone surrogate
    in a key or a string), JSON nested so deep that parsing it overflows and an integer of more
    digits than Python reads (`sys.get_int_max_str_digits`, a ValueError that Django's field does
    not catch), and JSON deeper than JSON_MAX_DEPTH (pages render it recursively), as the API's
    parser does (`tasks.validators.unstorable_text`, `nested_deeper_than`), with a form error
    instead of a 500."""

    def to_python(self, value):
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise ValidationError("This JSON is nested too deeply.", code="invalid") from None
        except ValueError:  # json.JSONDecodeError is caught by Django; this is the digit limit
            raise ValidationError("This JSON holds a number too long to read.", code="invalid") from None
        if nested_deeper_than(converted, JSON_MAX_DEPTH):
            raise ValidationError(f"This JSON is nested too deeply (more than {JSON_MAX_DEPTH} levels).",
                                  code="invalid")
        found = unstorable_text(converted)
        if found:
            raise ValidationError(f"Contains {found[1]}, which cannot be stored.", code="invalid")
        return converted

    def bound_data(self, data, initial):
        # A refused value is shown again as typed: parsed, it may not even be printable (a lone surrogate).
        try:
            value = super().bound_data(data, initial)
        except (RecursionError, ValueError):
            return forms.fields.InvalidJSONInput(data)
        if self.disabled or isinstance(value, forms.fields.InvalidJSONInput) or not (
                unstorable_text(value) or nested_deeper_than(value, JSON_MAX_DEPTH)):
            return value
        return forms.fields.InvalidJSONInput(data)


class CatalogSelect(forms.Select):
    """Options carry the catalog key (for the estimate) and are disabled, with the reason, when unusable."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        entry = getattr(value, "instance", None)
        if isinstance(entry, ModelCatalogEntry):
            option["attrs"]["data-key"] = entry.key
            reason = model_unavailable_reason(entry)
            if reason:
                option["attrs"]["disabled"] = True
                option["label"] = f"{label} (unavailable: {reason})"
        return option


class RangeWithValue(forms.NumberInput):
    """A slider that shows its value ("10 %") next to it; task-form.js keeps the two in step."""

    input_type = "range"

    def __init__(self, *, unit: str = "", attrs=None):
        super().__init__(attrs)
        self.unit = unit

    def render(self, name, value, attrs=None, renderer=None):
        slider = super().render(name, value, attrs, renderer)
        element_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        return format_html(
            '<span class="range-with-value">{}<output for="{}" data-unit="{}">{} {}</output></span>',
            slider, element_id, self.unit, value if value not in (None, "") else "", self.unit,
        )


class SuggestingInput(forms.TextInput):
    """A text input with a `<datalist>` of existing names; new names are allowed.

    With `comma_separated`, task-form.js offers the suggestions for the name being typed after
    the last comma.
    """

    def __init__(self, *, suggestions=(), comma_separated: bool = False, attrs=None):
        super().__init__(attrs)
        self.suggestions = list(suggestions)
        self.comma_separated = comma_separated

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{name}-suggestions"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        if self.comma_separated:
            attrs["data-comma-separated"] = "true"
        options = format_html_join("", '<option value="{}"></option>', ((s,) for s in self.suggestions))
        return format_html('{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer),
                           list_id, options)


class TaskBriefForm(forms.ModelForm):
    """The task admin's form; `vocabulary` ({"categories": [...], "tags": [...]}) and `creator` (the
    user at the page, whose monthly budget a new brief must fit) are set by the admin."""

    vocabulary: dict = {}
    creator = None

    research_notes = forms.CharField(
        required=False, max_length=RESEARCH_NOTES_MAX, widget=forms.Textarea(attrs={"rows": 10, "class": "vLargeTextField"}),
        help_text=RESEARCH_NOTES_HELP,
    )
    source_urls = forms.CharField(
        label="Source URLs", required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
        help_text=f"Public http(s) pages the research stage fetches and cites, one per line (at most {SOURCE_URLS_MAX}).",
    )
    seen_sequence = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = GenerationTask
        fields = "__all__"
        field_classes = {"model": CatalogModelChoiceField, "metadata": StorableJSONField}
        widgets = {"model": CatalogSelect, "word_count_tolerance": RangeWithValue(unit="%")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            # Research notes travel in at creation; a task's page carries the sequence it showed.
            del self.fields["research_notes"], self.fields["source_urls"]
            self.fields["seen_sequence"].initial = self.instance.event_sequence
        else:
            del self.fields["seen_sequence"]
        if "category" in self.fields:
            self.fields["category"].widget = SuggestingInput(suggestions=self.vocabulary.get("categories", ()))
            self.fields["category"].help_text = "One of the blog's categories, or a new one (created on publish)."
        if "tags" in self.fields:
            self.fields["tags"].widget = SuggestingInput(suggestions=self.vocabulary.get("tags", ()), comma_separated=True)
            self.fields["tags"].help_text = "Comma-separated; the blog's tags are suggested, new ones are created on publish."
        if "tags" in self.fields:  # "Item 2 in the array did not validate:" says nothing to an editor
            self.fields["tags"].error_messages["item_invalid"] = "Tag %(nth)s:"
            # Checked here too, per tag: the model's check of the list reaches the form as its bare prefix.
            tag = self.fields["tags"].base_field  # shared by the form's copies of the field
            if validate_shown_line not in tag.validators:
                tag.validators = [*tag.validators, validate_shown_line]
        if "word_count" in self.fields:
            # The brief's own floor, not the 0 of a PositiveIntegerField: -5 and 99 get the same answer.
            # And its ceiling, checked by the field rather than by the model after `clean()`: the
            # budget check there estimated 400 digits of words (an OverflowError, a 500).
            count = self.fields["word_count"]
            count.validators = [validator for validator in count.validators
                                if not isinstance(validator, (MinValueValidator, MaxValueValidator))] + [
                MinValueValidator(WORD_COUNT_MIN), MaxValueValidator(WORD_COUNT_MAX)]
            count.widget.attrs.update(min=WORD_COUNT_MIN, max=WORD_COUNT_MAX)
        if "task_type" in self.fields:
            self.fields["task_type"].widget.attrs["data-blog-only-fields"] = " ".join(BLOG_ONLY_FIELDS)
        if "timeout_seconds" in self.fields:
            self.fields["timeout_seconds"].required = False
            self.fields["timeout_seconds"].help_text = (
                f"Deadline of one attempt, in seconds; at most {settings.PRESSROOM_TASK_TIMEOUT_MAX}."
            )

    def clean_source_urls(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data.get("source_urls", "").splitlines() if line.strip()]
        if len(lines) > SOURCE_URLS_MAX:
            raise ValidationError(f"Give at most {SOURCE_URLS_MAX} URLs.")
        errors, urls = [], []
        for url in lines:
            try:
                urls.append(validate_public_http_url(url))
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return urls

    def clean_metadata(self):
        metadata = self.cleaned_data.get("metadata")
        try:
            with_research(metadata)  # the service's rules for the research part, reported on the form
        except DomainError as error:
            raise ValidationError(str(error)) from None
        return metadata

    def clean_timeout_seconds(self):
        value = self.cleaned_data.get("timeout_seconds")
        if value is not None and value > settings.PRESSROOM_TASK_TIMEOUT_MAX:
            raise ValidationError(f"At most {settings.PRESSROOM_TASK_TIMEOUT_MAX} seconds.")
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("task_type") == TaskType.IMAGE_GENERATION:
            # Hidden on the page for an image task: whatever was posted there is not part of the brief.
            for name in BLOG_ONLY_FIELDS:
                if name in self.fields:
                    if self._errors:
                        self._errors.pop(name, None)
                    cleaned[name] = self._blank(name)
        if self.instance._state.adding and not self.errors:
            self._check_budget(cleaned)
        return cleaned

    def _check_budget(self, cleaned: dict) -> None:
        """Say on the form, with the brief kept, that it would exceed a monthly budget.

        Only a courtesy: `task_create` checks again under its lock and is what refuses (a brief
        that fits now but not once a concurrent one is queued comes back as the admin's message).
        """
        brief = {"task_type": cleaned.get("task_type"), "word_count": cleaned.get("word_count"),
                 "model": cleaned.get("model")}
        if brief["model"] is None:
            return
        for status in budget_statuses(self.creator, estimate=estimate_cost(brief)):
            if status.would_exceed:
                self.add_error(None, str(BudgetExceeded(status)))
                return

    @staticmethod
    def _blank(name: str):
        if name in ("research_notes",):
            return ""
        if name == "source_urls":
            return []
        field = GenerationTask._meta.get_field(name)
        return field.get_default()

    def research(self) -> dict:
        """The `task_create` keyword arguments for the research stage (None: not given)."""
        if "research_notes" not in self.fields:
            return {}
        notes = self.cleaned_data.get("research_notes") or None
        urls = self.cleaned_data.get("source_urls") or None
        return {"research_text": notes, "source_urls": urls}
