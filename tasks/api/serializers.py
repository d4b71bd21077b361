"""Input and output serializers of the task API, one pair per operation.

Input serializers repeat the brief's rules (ranges, lengths, choices) so that a bad brief is a
field-level 400 before any service runs; the database constraints stay the last word. They refuse
fields they do not know instead of ignoring them, so a typo (`word_cout`) or an attempt to set
`status` is reported, not silently dropped. Integers must be JSON integers: "5", 1.5 and true are
refused rather than coerced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tasks.exceptions import DomainError
from tasks.services.lifecycle import RESEARCH_NOTES_HELP, RESEARCH_NOTES_MAX, SOURCE_URLS_MAX, with_research
from tasks.validators import MAX_URL_LENGTH, validate_public_http_url, validate_shown_line
from tasks.models import GenerationTask, ModelCatalogEntry, Style, TaskEvent, TaskType, Tone
from tasks.models.task import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    TOLERANCE_MAX,
    TOLERANCE_MIN,
    TOPIC_MAX_LENGTH,
    TOPIC_MIN_LENGTH,
    WORD_COUNT_MAX,
    WORD_COUNT_MIN,
)

TAGS_MAX = 20
METADATA_MAX_BYTES = 50_000
TAG_MAX_LENGTH = 50
EVENTS_LIMIT_DEFAULT = 100
EVENTS_LIMIT_MAX = 500


def unbound_copy(field: serializers.Field) -> serializers.Field:
    """A shallow copy of a field for a serializer to bind; what `copy.copy` makes, without its
    `__reduce_ex__` round, which cost a serializer with many fields a tenth of a millisecond."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class StrictIntegerField(serializers.IntegerField):
    """An integer as JSON writes it; DRF's own field would turn "5" and 1.0 into 5."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text as JSON writes it; DRF's own field would turn 12345 into "12345"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CatalogModelField(serializers.SlugRelatedField):
    """A catalog entry named by its `key`; disabled entries cannot be chosen for new work."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="key", queryset=ModelCatalogEntry.objects.enabled(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return self.get_queryset().get(key=data)
        except ModelCatalogEntry.DoesNotExist:
            raise serializers.ValidationError(f"Unknown or disabled model '{data}'.") from None


class RejectUnknownFieldsMixin:
    """Report every field the serializer does not declare, alongside the other field errors."""

    unknown_field_message = "Unknown field."
    also_known: tuple[str, ...] = ()  # names taken and ignored, beside the declared fields

    def to_internal_value(self, data):
        known = set(self.fields) | set(self.also_known)
        unknown = sorted(set(data) - known) if isinstance(data, Mapping) else []
        errors = {name: [self.unknown_field_message] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if errors and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **errors}) from None
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class BriefInput(RejectUnknownFieldsMixin, serializers.Serializer):
    """The fields of a brief that may be set at creation and changed while the task is queued."""

    def get_fields(self):
        # DRF deep-copies the declared fields for every instance, which cost more than validating
        # a brief. Each serializer still binds fields of its own (binding sets their name and
        # parent); shallow copies suffice, because these fields only read their settings (limits,
        # choices, validators) while validating.
        return {name: unbound_copy(field) for name, field in self._declared_fields.items()}

    title = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                            validators=[validate_shown_line])
    topic = StrictCharField(min_length=TOPIC_MIN_LENGTH, max_length=TOPIC_MAX_LENGTH, validators=[validate_shown_line])
    word_count = StrictIntegerField(min_value=WORD_COUNT_MIN, max_value=WORD_COUNT_MAX, default=1000)
    word_count_tolerance = StrictIntegerField(
        min_value=TOLERANCE_MIN, max_value=TOLERANCE_MAX, default=10,
        help_text="Allowed deviation from the word count, in percent.",
    )
    strict_mode = serializers.BooleanField(
        default=False, help_text="Fail the task when the final word count is outside the tolerance."
    )
    style = serializers.ChoiceField(choices=Style.choices, default=Style.EDUCATIONAL.value)
    tone = serializers.ChoiceField(choices=Tone.choices, default=Tone.PROFESSIONAL.value)
    target_audience = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                                      validators=[validate_shown_line])
    primary_keyword = StrictCharField(max_length=100, required=False, allow_blank=True, default="",
                                      validators=[validate_shown_line])
    category = StrictCharField(max_length=100, required=False, allow_blank=True, default="",
                               validators=[validate_shown_line])
    tags = serializers.ListField(
        child=StrictCharField(max_length=TAG_MAX_LENGTH, validators=[validate_shown_line]), max_length=TAGS_MAX,
        required=False, default=list,
    )
    model = CatalogModelField(required=False, help_text="A model catalog key; the default model when omitted.")
    priority = StrictIntegerField(
        min_value=PRIORITY_MIN, max_value=PRIORITY_MAX, default=0, help_text="Higher runs first."
    )
    metadata = serializers.DictField(required=False, default=dict, help_text="Free-form JSON object.")
    research_notes = StrictCharField(
        required=False, allow_blank=True, max_length=RESEARCH_NOTES_MAX, write_only=True,
        help_text=RESEARCH_NOTES_HELP,
    )
    source_urls = serializers.ListField(
        child=StrictCharField(max_length=MAX_URL_LENGTH), max_length=SOURCE_URLS_MAX, required=False,
        write_only=True, help_text="Public http(s) pages the research stage fetches and cites.",
    )

    def validate_source_urls(self, urls: list[str]) -> list[str]:
        errors, valid = {}, []
        for index, url in enumerate(urls):
            try:
                valid.append(validate_public_http_url(url))
            except DjangoValidationError as error:
                errors[index] = error.messages
        if errors:
            raise serializers.ValidationError(
                [message for index in sorted(errors) for message in errors[index]]
            )
        return valid

    def validate_metadata(self, metadata: dict) -> dict:
        if len(json.dumps(metadata, default=str)) > METADATA_MAX_BYTES:
            raise serializers.ValidationError(f"Keep metadata under {METADATA_MAX_BYTES // 1000} kB of JSON.")
        try:
            with_research(metadata)  # the research part's rules (notes' length, public URLs), once for every way in
        except DomainError as error:
            raise serializers.ValidationError(str(error)) from None
        return metadata

    def validate(self, attrs: dict) -> dict:
        """Pasted notes and URLs travel to the research stage in `metadata["research"]`, mapped by
        the same service function the admin's task form goes through. A change that sends them
        without `metadata` changes them in the task's stored metadata (the context's `metadata`),
        keeping the rest of it: the notes alone keep the URLs, and the other keys stay."""
        notes, urls = attrs.pop("research_notes", None), attrs.pop("source_urls", None)
        if notes is not None or urls is not None:
            metadata = attrs["metadata"] if "metadata" in attrs else self.context.get("metadata")
            try:
                attrs["metadata"] = with_research(metadata, research_text=notes, source_urls=urls)
            except DomainError as error:
                raise serializers.ValidationError({"source_urls": [str(error)]}) from None
        return attrs


class TaskCreateInput(BriefInput):
    task_type = serializers.ChoiceField(choices=TaskType.choices, default=TaskType.BLOG_POST.value)
    timeout_seconds = StrictIntegerField(
        min_value=1, required=False, help_text="Deadline of one attempt; at most PRESSROOM_TASK_TIMEOUT_MAX."
    )

    def validate_timeout_seconds(self, value: int) -> int:
        # Read per request, not at import, so the limit follows the running settings.
        if value > settings.PRESSROOM_TASK_TIMEOUT_MAX:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {settings.PRESSROOM_TASK_TIMEOUT_MAX}."
            )
        return value


class TaskUpdateInput(BriefInput):
    """A partial change of a queued task; its fields are exactly the service's EDITABLE_WHILE_QUEUED."""

    unknown_field_message = "This field cannot be changed; only the title, priority and brief of a queued task can."


class TaskPostOutput(serializers.Serializer):
    """The post a task was published as (`published_at` null: unpublished; in the future: scheduled)."""

    id = serializers.UUIDField()
    slug = serializers.CharField()
    url = serializers.CharField(help_text="Path of the post on the public blog.")
    published_at = serializers.DateTimeField(allow_null=True)


def post_summaries(task_ids: list) -> dict:
    """The posts of these tasks, through the `PRESSROOM_TASK_POST_SUMMARIES` hook (`tasks` never
    imports `publishing`); no hook, no posts."""
    hook = getattr(settings, "PRESSROOM_TASK_POST_SUMMARIES", "")
    return import_string(hook)(task_ids) if hook and task_ids else {}


class TaskListOutput(serializers.ListSerializer):
    """Reads the posts of all listed tasks in one query instead of one per task."""

    def to_representation(self, data):
        tasks = list(data.all() if hasattr(data, "all") else data)
        self.post_summaries = post_summaries([task.pk for task in tasks])
        return super().to_representation(tasks)


class TaskOutput(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="key", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    last_event_sequence = serializers.IntegerField(
        source="event_sequence", read_only=True,
        help_text="Sequence of the task's latest event; watchers catch up from here with `events?after=`.",
    )
    url = serializers.HyperlinkedIdentityField(view_name="api:task_detail", lookup_url_kwarg="task_id")
    post = serializers.SerializerMethodField(help_text="The task's post once it was published, else null.")

    class Meta:
        model = GenerationTask
        list_serializer_class = TaskListOutput
        fields = [
            "id", "task_type", "title", "topic", "word_count", "word_count_tolerance", "strict_mode", "style",
            "tone", "target_audience", "primary_keyword", "category", "tags", "model", "priority", "status",
            "phase", "progress", "approval_status", "attempts", "max_attempts", "timeout_seconds", "heartbeat_at",
            "worker", "cancel_requested_at", "error", "estimated_cost", "actual_cost", "input_tokens",
            "output_tokens", "created_by", "created_at", "updated_at", "started_at", "finished_at", "available_at",
            "last_event_sequence", "metadata", "url", "post",
        ]
        read_only_fields = fields

    def get_fields(self):
        # ModelSerializer derives these fields from the model for every instance it makes, which
        # cost more than the rest of a task's serialization; they are the same every time, so they
        # are derived once per class. Each serializer binds copies of its own (binding sets the
        # field's name and parent); shallow copies do, because an output serializer's fields only
        # read their settings, and copying them deeply cost as much again as serializing the task.
        cls = type(self)
        if "_model_fields" not in cls.__dict__:
            cls._model_fields = super().get_fields()
        return {name: unbound_copy(field) for name, field in cls._model_fields.items()}

    @extend_schema_field(TaskPostOutput(allow_null=True))
    def get_post(self, task) -> dict | None:
        summaries = getattr(self.parent, "post_summaries", None)
        if summaries is None:
            summaries = self.context.get("post_summaries")
        if summaries is None:
            summaries = post_summaries([task.pk])
        summary = summaries.get(task.pk)
        return TaskPostOutput(summary).data if summary else None


class TaskEventsQuery(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="Only events with a greater sequence number."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=EVENTS_LIMIT_MAX, required=False, default=EVENTS_LIMIT_DEFAULT,
        help_text="At most this many events; ask again with `after` set to the last sequence for more.",
    )


class TaskEventOutput(serializers.ModelSerializer):
    class Meta:
        model = TaskEvent
        fields = ["sequence", "kind", "status", "phase", "progress", "message", "data", "created_at"]
        read_only_fields = fields


class PhaseStepOutput(serializers.Serializer):
    """One phase of `tasks.selectors.phase_timeline`."""

    phase = serializers.CharField()
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "running", "done", "stopped"])
    state_label = serializers.CharField()
    duration = serializers.CharField(help_text="How long it ran, as text; empty when it has not started.")
    seconds = serializers.FloatField(help_text="Seconds it ran before its current run, if running.")
    running_since = serializers.DateTimeField(allow_null=True, help_text="When its current run started, if running.")


class CatalogEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = ModelCatalogEntry
        fields = ["key", "display_name", "provider", "provider_model_id", "input_price_per_million",
                  "output_price_per_million", "context_window", "is_default"]
        read_only_fields = fields
