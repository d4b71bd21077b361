"""`ContentVersion`: an immutable snapshot of a piece at one step of its life.

Every pipeline stage, every editor's edit and every restore adds a version; none is ever
changed, so the history of a piece is exactly its versions in number order.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from tasks.models import AppendOnlyModel


class VersionPhase(models.TextChoices):
    RESEARCH = "research", "Research"
    DRAFT = "draft", "Draft"
    QA = "qa", "Quality check"
    IMAGE = "image", "Image"
    FORMAT = "format", "Format"
    EDIT = "edit", "Editor's edit"
    RESTORE = "restore", "Restore"


class ContentVersion(AppendOnlyModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # db_index=False: the unique (task, number) index serves every lookup by task.
    task = models.ForeignKey(
        "tasks.GenerationTask", on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    phase = models.CharField(max_length=16, choices=VersionPhase.choices)
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField("body (Markdown)", blank=True)
    excerpt = models.TextField(blank=True)
    excerpt_by_person = models.BooleanField(
        default=False,
        db_default=False,  # a worker still on the release before this column inserts without it
        help_text="A person wrote the excerpt: later edits keep it until a person changes or clears it "
                  "(else it is the body's first paragraph, written again with the body).",
    )
    word_count = models.PositiveIntegerField(default=0)
    body_html = models.TextField("body (sanitized HTML)", blank=True, help_text="Set by the format stage.")
    seo = models.JSONField(
        default=dict, blank=True, help_text="SEO title, meta description, slug, reading time, table of contents."
    )
    sources = models.JSONField(default=list, blank=True, help_text="The numbered research sources cited.")
    image = models.ImageField(upload_to="versions/%Y/%m/", blank=True)
    thumbnail = models.ImageField(upload_to="versions/%Y/%m/thumbnails/", blank=True)
    image_alt = models.CharField(max_length=300, blank=True)
    image_credit = models.CharField(max_length=300, blank=True)
    image_credit_url = models.URLField(max_length=500, blank=True)
    image_source_url = models.URLField(max_length=500, blank=True)
    quality_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(100)])
    quality_report = models.JSONField(default=dict, blank=True)
    model_key = models.CharField(max_length=64, blank=True)
    is_outline = models.BooleanField(
        default=False,
        help_text="A plan of the piece, not an article (the writer had no material): it cannot be approved "
                  "until a person or a model writes the text.",
    )
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="content_versions",
        help_text="Empty for versions the pipeline wrote.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "number"]
        verbose_name = "content version"
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="version_number_unique_per_task"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="version_number_positive"),
            models.CheckConstraint(condition=models.Q(phase__in=VersionPhase.values), name="version_phase_valid"),
            models.CheckConstraint(
                condition=models.Q(quality_score__isnull=True) | models.Q(quality_score__lte=100),
                name="version_quality_score_range",
            ),
            models.CheckConstraint(condition=models.Q(cost__gte=0), name="version_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.get_phase_display()}"
