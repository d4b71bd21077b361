"""Input and output serializers of the content API: versions, estimates and the review verbs.

The review inputs check the shape of a request (types, lengths, known reason codes, no unknown
fields; JSON booleans, integers and strings are never coerced from other types); the rules of the
workflow (feedback required to reject, who may decide, in which state) belong to
`content.services.review`, which the views call.
"""

from __future__ import annotations

from rest_framework import serializers

from content.models import ApprovalEvent, ContentVersion, ReasonCode
from content.services.review import BODY_MAX_LENGTH, EXCERPT_MAX_LENGTH, FEEDBACK_MAX_LENGTH, TITLE_MAX_LENGTH
from tasks.api.serializers import BriefInput, CatalogModelField, RejectUnknownFieldsMixin, StrictIntegerField
from tasks.models import TaskType
from tasks.models.task import WORD_COUNT_MAX, WORD_COUNT_MIN
from tasks.services.budgets import AMOUNT_DECIMALS, AMOUNT_DIGITS


class VersionSummaryOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model_key")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ContentVersion
        fields = ["number", "phase", "title", "quality_score", "word_count", "model", "is_outline", "input_tokens",
                  "output_tokens", "cost", "created_by", "created_at"]
        read_only_fields = fields


class VersionOutput(VersionSummaryOutput):
    image = serializers.ImageField(read_only=True, use_url=True)
    thumbnail = serializers.ImageField(read_only=True, use_url=True)

    class Meta(VersionSummaryOutput.Meta):
        fields = VersionSummaryOutput.Meta.fields + [
            "body", "body_html", "excerpt", "seo", "sources", "quality_report", "image", "thumbnail", "image_alt",
            "image_credit", "image_credit_url", "image_source_url",
        ]
        read_only_fields = fields


class EstimateInput(RejectUnknownFieldsMixin, serializers.Serializer):
    """The fields of a brief that set its price; the rest of a brief may be sent too (the body a
    client will POST to /api/tasks), and is ignored. A name that is no field of a brief is refused,
    so that a misspelt `word_count` is not priced at the default."""

    also_known = tuple(BriefInput().fields)
    task_type = serializers.ChoiceField(choices=TaskType.choices, default=TaskType.BLOG_POST.value)
    word_count = StrictIntegerField(min_value=WORD_COUNT_MIN, max_value=WORD_COUNT_MAX, default=1000)
    model = CatalogModelField(required=False, help_text="A model catalog key; the default model when omitted.")


class StageEstimateOutput(serializers.Serializer):
    stage = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True)


class TotalsOutput(serializers.Serializer):
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True)


class MaximumOutput(TotalsOutput):
    qa_rounds = serializers.IntegerField()


class BudgetEstimateOutput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["site", "user"], help_text="The site's budget or your own.")
    limit = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    spent = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_DECIMALS, coerce_to_string=True,
                                     help_text="Committed this month before this brief.")
    remaining = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_DECIMALS, coerce_to_string=True)
    would_exceed = serializers.BooleanField(help_text="Creating this brief now would be refused (409).")


class EstimateOutput(serializers.Serializer):
    model = serializers.CharField()
    stages = StageEstimateOutput(many=True)
    total = TotalsOutput()
    maximum = MaximumOutput(help_text="If every QA round is used.")
    budgets = BudgetEstimateOutput(many=True, help_text=(
        "The monthly budgets that apply to you (the site's, your own), measured against `total.cost`; "
        "empty when none is set."))
    would_exceed = serializers.BooleanField(help_text="True when any of `budgets` would be exceeded.")


# --- the review verbs ----------------------------------------------------------------------------
class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` as JSON writes them; DRF's own field would accept "yes", 1 and "on"."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    """A JSON string; DRF's own field would turn 5 into "5". NUL characters are refused (400)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def feedback_field(**kwargs) -> StrictCharField:
    return StrictCharField(max_length=FEEDBACK_MAX_LENGTH, required=False, allow_blank=True, default="", **kwargs)


class ApprovalInput(RejectUnknownFieldsMixin, serializers.Serializer):
    approved = StrictBooleanField(help_text="true approves the current version; false rejects it.")
    feedback = feedback_field(help_text="The reviewer's comment; required for a rejection.")
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=ReasonCode.choices), max_length=len(ReasonCode.choices),
        required=False, default=list, help_text="Why the version is rejected: one or more reason codes.",
    )
    revise = StrictBooleanField(
        required=False, default=False,
        help_text="With a rejection: run the writer again with the feedback; the new version awaits review.",
    )
    target_words = StrictIntegerField(
        min_value=WORD_COUNT_MIN, max_value=WORD_COUNT_MAX, required=False, allow_null=True, default=None,
        help_text="With a revision request: the length the revision should have.",
    )
    version = StrictIntegerField(
        min_value=1, max_value=2_147_483_647, required=False, allow_null=True, default=None,
        help_text="The version number the reviewer read; 409 when a newer version is current.",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["approved"]:
            errors = {name: ["Only a rejection takes this field."] for name, empty in
                      (("reasons", []), ("revise", False), ("target_words", None)) if attrs[name] != empty}
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


class RevokeApprovalInput(RejectUnknownFieldsMixin, serializers.Serializer):
    feedback = feedback_field(help_text="Why the approval is withdrawn.")


class DraftEditInput(RejectUnknownFieldsMixin, serializers.Serializer):
    """A person's change of the current version; the fields not sent keep their current text."""

    title = StrictCharField(max_length=TITLE_MAX_LENGTH, required=False, allow_blank=True)
    body = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, allow_blank=True,
                           help_text="Markdown; a leading `# Title` line is taken from `title`.")
    excerpt = StrictCharField(max_length=EXCERPT_MAX_LENGTH, required=False, allow_blank=True)
    base_version = StrictIntegerField(
        min_value=1, required=False, allow_null=True,
        help_text="The version number the edit started from; 409 when a newer version exists.",
    )

    def validate(self, attrs: dict) -> dict:
        if not {"title", "body", "excerpt"} & set(attrs):
            raise serializers.ValidationError("Send at least one of title, body and excerpt.")
        return attrs


class EmptyInput(RejectUnknownFieldsMixin, serializers.Serializer):
    """No fields: an empty JSON object, or no body at all."""


class ApprovalEventOutput(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="Null for the system.")
    version = serializers.SlugRelatedField(slug_field="number", read_only=True, help_text="The version's number.")

    class Meta:
        model = ApprovalEvent
        fields = ["decision", "actor", "feedback", "reasons", "version", "revision_requested", "target_words",
                  "created_at"]
        read_only_fields = fields


class DiffRowOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["equal", "replace", "insert", "delete"])
    left = serializers.CharField(allow_blank=True, help_text="The line of the older side; empty for an insert.")
    right = serializers.CharField(allow_blank=True, help_text="The line of the newer side; empty for a delete.")


# `from` is a Python keyword, so the class is built from a dict of its fields.
VersionDiffOutput = type("VersionDiffOutput", (serializers.Serializer,), {
    "__module__": __name__,
    "__doc__": "Two versions' Markdown compared line by line, side by side and as a unified diff.",
    "from": serializers.IntegerField(help_text="Number of the left-hand version."),
    "to": serializers.IntegerField(help_text="Number of the right-hand version."),
    "rows": DiffRowOutput(many=True),
    "unified": serializers.CharField(allow_blank=True, help_text="The same comparison as a unified diff."),
})
