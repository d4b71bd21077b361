"""`ApprovalEvent`: the audit trail of editorial decisions.

Who decided what about which version, when and why. The table is append-only in the ORM, in the
admin and in the database (a trigger rejects UPDATE and DELETE), and the task and version it
speaks of cannot be deleted while it exists.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from tasks.models import AppendOnlyModel


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    APPROVAL_REVOKED = "approval_revoked", "Approval revoked"
    PUBLISHED = "published", "Published"
    UNPUBLISHED = "unpublished", "Unpublished"
    SCHEDULED = "scheduled", "Scheduled"
    EDITED = "edited", "Edited"
    RESTORED = "restored", "Restored"


class ReasonCode(models.TextChoices):
    """Why a reviewer rejected a piece; counted per model in the feedback analytics."""

    FACTUAL_ERROR = "factual_error", "Factual error"
    OFF_TOPIC = "off_topic", "Off topic"
    TONE = "tone", "Tone"
    LENGTH = "length", "Length"
    STRUCTURE = "structure", "Structure"
    QUALITY = "quality", "Writing quality"
    SOURCES = "sources", "Sources"
    OTHER = "other", "Other"


class ApprovalEvent(AppendOnlyModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # db_index=False: approval_task_created (task, -created_at) serves every lookup by task.
    task = models.ForeignKey(
        "tasks.GenerationTask", on_delete=models.PROTECT, related_name="approval_events", db_index=False
    )
    version = models.ForeignKey(
        "content.ContentVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="approval_events"
    )
    decision = models.CharField(max_length=32, choices=Decision.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approval_events"
    )
    feedback = models.TextField(blank=True)
    reasons = ArrayField(models.CharField(max_length=64, choices=ReasonCode.choices), default=list, blank=True)
    revision_requested = models.BooleanField(
        default=False, help_text="A rejection that sent the piece back to the writer with this feedback."
    )
    target_words = models.PositiveIntegerField(
        null=True, blank=True, help_text="The length the reviewer asked the revision to have."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "approval event"
        verbose_name_plural = "audit trail entries"
        permissions = [("review_content", "Can approve, reject and revoke approval of generated content")]
        indexes = [models.Index(fields=["task", "-created_at"], name="approval_task_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(decision__in=Decision.values), name="approval_decision_valid"),
            models.CheckConstraint(
                condition=models.Q(reasons__contained_by=ReasonCode.values), name="approval_reasons_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(decision="rejected") | ~models.Q(reasons=[]), name="approval_rejection_has_reason"
            ),
            models.CheckConstraint(
                condition=models.Q(revision_requested=False) | models.Q(decision="rejected"),
                name="approval_revision_only_on_rejection",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.actor or 'system'}"

    def reason_labels(self) -> list[str]:
        """The reasons as the reject form names them ("Writing quality", not "quality")."""
        labels = dict(ReasonCode.choices)
        return [labels.get(code, code) for code in self.reasons]
