"""Input and output serializers of the content API."""

from __future__ import annotations

from rest_framework import serializers

from content.models import ContentVersion
from tasks.api.serializers import CatalogModelField, StrictIntegerField
from tasks.models import TaskType
from tasks.models.task import WORD_COUNT_MAX, WORD_COUNT_MIN


class VersionSummaryOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model_key")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ContentVersion
        fields = ["number", "phase", "title", "quality_score", "word_count", "model", "input_tokens",
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


class EstimateInput(serializers.Serializer):
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


class EstimateOutput(serializers.Serializer):
    model = serializers.CharField()
    stages = StageEstimateOutput(many=True)
    total = TotalsOutput()
    maximum = MaximumOutput(help_text="If every QA round is used.")
