"""`GenerationTask`: one brief and its run through the pipeline.

The brief (what to write) and the run (queue position, attempts, heartbeat, cost) share one row
so that claiming, progressing and finishing a task are single-row updates under a row lock. The
database rejects any status, phase or brief value outside the allowed sets.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Length, Now
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from tasks.validators import validate_shown_line
from tasks.visibility import TaskVisibility

TOPIC_MIN_LENGTH = 3
TOPIC_MAX_LENGTH = 300
WORD_COUNT_MIN = 100
WORD_COUNT_MAX = 10_000
TOLERANCE_MIN = 5
TOLERANCE_MAX = 20
PRIORITY_MIN = -100
PRIORITY_MAX = 100


class TaskType(models.TextChoices):
    BLOG_POST = "blog_post", "Blog post"
    IMAGE_GENERATION = "image_generation", "Image generation"


class Style(models.TextChoices):
    TECHNICAL = "technical", "Technical"
    NARRATIVE = "narrative", "Narrative"
    LISTICLE = "listicle", "Listicle"
    EDUCATIONAL = "educational", "Educational"
    THOUGHT_LEADERSHIP = "thought_leadership", "Thought leadership"


class Tone(models.TextChoices):
    PROFESSIONAL = "professional", "Professional"
    CASUAL = "casual", "Casual"
    ACADEMIC = "academic", "Academic"
    INSPIRATIONAL = "inspirational", "Inspirational"
    FRIENDLY = "friendly", "Friendly"
    AUTHORITATIVE = "authoritative", "Authoritative"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


FINISHED_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.TIMED_OUT)


class Phase(models.TextChoices):
    NONE = "", "—"
    RESEARCH = "research", "Research"
    DRAFT = "draft", "Draft"
    QA = "qa", "Quality check"
    IMAGE = "image", "Image"
    FORMAT = "format", "Format"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


def default_timeout_seconds() -> int:
    return settings.PRESSROOM_TASK_TIMEOUT


def default_max_attempts() -> int:
    return settings.PRESSROOM_MAX_ATTEMPTS


class GenerationTaskQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The tasks `user` may see (the rule is `tasks.visibility.TaskVisibility`)."""
        return TaskVisibility.of(user).filter(self)

    def queued(self):
        return self.filter(status=Status.QUEUED)

    def awaiting_decision(self):
        """Completed tasks whose current version waits for a reviewer (index `task_awaiting_review`).

        Who may take the decision is `content`'s rule: see `content.selectors.awaiting_review`.
        """
        return self.filter(status=Status.COMPLETED, approval_status=ApprovalStatus.PENDING)

    def in_queue_order(self):
        return self.order_by("-priority", "created_at")


class GenerationTask(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    # The brief.
    task_type = models.CharField(max_length=32, choices=TaskType.choices, default=TaskType.BLOG_POST)
    title = models.CharField(max_length=200, blank=True, validators=[validate_shown_line])
    topic = models.CharField(
        max_length=TOPIC_MAX_LENGTH, validators=[MinLengthValidator(TOPIC_MIN_LENGTH), validate_shown_line]
    )
    word_count = models.PositiveIntegerField(
        "target word count",
        default=1000,
        validators=[MinValueValidator(WORD_COUNT_MIN), MaxValueValidator(WORD_COUNT_MAX)],
    )
    word_count_tolerance = models.PositiveSmallIntegerField(
        "word count tolerance (%)",
        default=10,
        validators=[MinValueValidator(TOLERANCE_MIN), MaxValueValidator(TOLERANCE_MAX)],
    )
    strict_mode = models.BooleanField(
        default=False, help_text="Fail the task when the final word count is outside the tolerance."
    )
    style = models.CharField(max_length=32, choices=Style.choices, default=Style.EDUCATIONAL)
    tone = models.CharField(max_length=32, choices=Tone.choices, default=Tone.PROFESSIONAL)
    target_audience = models.CharField(max_length=200, blank=True, validators=[validate_shown_line])
    primary_keyword = models.CharField(max_length=100, blank=True, validators=[validate_shown_line])
    category = models.CharField(max_length=100, blank=True, validators=[validate_shown_line])
    tags = ArrayField(models.CharField(max_length=50, validators=[validate_shown_line]), default=list, blank=True,
                      size=20)
    model = models.ForeignKey(
        "tasks.ModelCatalogEntry", on_delete=models.PROTECT, related_name="tasks", verbose_name="model"
    )
    priority = models.IntegerField(
        default=0,
        validators=[MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)],
        help_text="Higher runs first.",
    )

    # The run.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.NONE, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    approval_status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    revision = models.PositiveSmallIntegerField(
        default=0, help_text="Revision round: 0 for the first run, +1 for each revision a reviewer requested."
    )
    max_attempts = models.PositiveSmallIntegerField(default=default_max_attempts, validators=[MinValueValidator(1)])
    timeout_seconds = models.PositiveIntegerField(default=default_timeout_seconds, validators=[MinValueValidator(1)])
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Due now is the database server's now (the clock the claim judges it on), not the clock of
    # the web process that queued the task: one ahead made a new task wait that long.
    available_at = models.DateTimeField(
        db_default=Now(), help_text="A queued task is not claimed before this time (retry backoff)."
    )
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current attempt times out (claim time + timeout)."
    )
    error = models.TextField(blank=True)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    actual_cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    # The monthly budgets (`tasks/services/budgets.py`) count a task in the month it was last
    # queued (created, retried, sent back for a revision), and a queued or running one at what it
    # had spent before that queueing plus its estimate.
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When the task was last queued: created, retried or sent back for a revision."
    )
    cost_at_queueing = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal("0"), help_text="What the task had spent when last queued."
    )
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)

    event_sequence = models.PositiveIntegerField(default=0, editable=False, help_text="Sequence of the last event.")
    idempotency_key = models.CharField(max_length=200, blank=True, editable=False)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    # db_index=False: task_owner_created (created_by, -created_at) serves every lookup by creator.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_tasks",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = GenerationTaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "generation task"
        permissions = [("view_all_tasks", "Can see every user's generation tasks")]
        indexes = [
            # The queue: the next task is the first row of this partial index.
            models.Index(
                models.F("priority").desc(),
                "created_at",
                name="task_queue_order",
                condition=models.Q(status="queued"),
            ),
            # The reconciler: running tasks by heartbeat age.
            models.Index(fields=["heartbeat_at"], name="task_running_heartbeat", condition=models.Q(status="running")),
            models.Index(fields=["status", "-created_at"], name="task_status_created"),
            models.Index(fields=["-created_at"], name="task_created"),
            models.Index(fields=["created_by", "-created_at"], name="task_owner_created"),
            # The monthly budgets: a month's tasks, the site's or one user's.
            models.Index(fields=["queued_at"], name="task_queued"),
            models.Index(fields=["created_by", "queued_at"], name="task_owner_queued"),
            # What finished lately (the dashboard's and the review queue's chart of the last 30
            # days, the recent failures) for those who see every task: without it every task was
            # read, 280–510 ms at 1,000,000 tasks on each load (docs/performance.md). Only tasks
            # that finished: a claim, whose update cannot be HOT, writes no entry (every query of it
            # asks for `finished_at >= …`, which implies the condition).
            models.Index(fields=["finished_at"], name="task_finished", condition=models.Q(finished_at__isnull=False)),
            # The review queue (the dashboard's panel, the task list's "Awaiting review" and its
            # count), longest-waiting first: without it every completed task was read to find the
            # few awaiting a decision (15 ms for the panel's five at 50,000 tasks; 0.07 ms with it).
            models.Index(
                fields=["finished_at", "created_at"],
                name="task_awaiting_review",
                condition=models.Q(status="completed", approval_status="pending"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="task_idempotency_key_unique_per_user",
            ),
            models.CheckConstraint(condition=models.Q(task_type__in=TaskType.values), name="task_type_valid"),
            models.CheckConstraint(condition=models.Q(status__in=Status.values), name="task_status_valid"),
            models.CheckConstraint(condition=models.Q(phase__in=Phase.values), name="task_phase_valid"),
            models.CheckConstraint(
                condition=models.Q(approval_status__in=ApprovalStatus.values), name="task_approval_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(style__in=Style.values), name="task_style_valid"),
            models.CheckConstraint(condition=models.Q(tone__in=Tone.values), name="task_tone_valid"),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("topic"), TOPIC_MIN_LENGTH), name="task_topic_min_length"
            ),
            models.CheckConstraint(
                condition=models.Q(word_count__gte=WORD_COUNT_MIN, word_count__lte=WORD_COUNT_MAX),
                name="task_word_count_range",
            ),
            models.CheckConstraint(
                condition=models.Q(word_count_tolerance__gte=TOLERANCE_MIN, word_count_tolerance__lte=TOLERANCE_MAX),
                name="task_tolerance_range",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=PRIORITY_MIN, priority__lte=PRIORITY_MAX),
                name="task_priority_range",
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="task_progress_range"),
            models.CheckConstraint(condition=models.Q(max_attempts__gte=1), name="task_max_attempts_positive"),
            models.CheckConstraint(condition=models.Q(timeout_seconds__gte=1), name="task_timeout_positive"),
            models.CheckConstraint(
                condition=models.Q(actual_cost__gte=0)
                & (models.Q(estimated_cost__isnull=True) | models.Q(estimated_cost__gte=0)),
                name="task_costs_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=FINISHED_STATUSES) | models.Q(finished_at__isnull=False),
                name="task_finished_has_finished_at",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.topic

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES
