"""Input serializers of the publishing API; the answer is the task (`tasks.api.serializers.TaskOutput`)
with its post."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from content.api.serializers import feedback_field
from publishing.services.posts import PUBLISH_RANGE_MESSAGE, publishable_time
from tasks.api.serializers import RejectUnknownFieldsMixin
from tasks.validators import UTC_OFFSET_MESSAGE, validate_utc_offset


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its offset, one a time zone has (`tasks.validators.validate_utc_offset`,
    the API's one rule); DRF's own field would read a time without one in the server's zone, which
    is not what the client meant to schedule."""

    default_error_messages = {
        "invalid": "Give an ISO 8601 date and time, e.g. 2030-01-31T09:00:00+01:00.",
        "naive": "Include the time zone, e.g. 2030-01-31T09:00:00+01:00 or 2030-01-31T08:00:00Z.",
        "range": PUBLISH_RANGE_MESSAGE,
        "offset": UTC_OFFSET_MESSAGE,
    }

    def to_internal_value(self, value):
        if not isinstance(value, str) or "\x00" in value:
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:  # well-formed but impossible, e.g. 2030-02-30 or an offset of 25 hours
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        try:
            validate_utc_offset(parsed)
        except ValidationError:
            self.fail("offset")
        if not publishable_time(parsed):
            self.fail("range")
        return parsed


class PublishInput(RejectUnknownFieldsMixin, serializers.Serializer):
    at = AwareDateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When the post goes live; omitted, null or past: now. In the future: scheduled.",
    )


class UnpublishInput(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = feedback_field(help_text="Why the post is taken off the blog; kept in the audit trail.")
