"""`TaskEvent`: the append-only progress log of a task.

Each row has a per-task sequence number so that a watcher who reconnects can ask for "everything
after N" and get no gap and no duplicate. Rows are never updated; they go only with their task.
"""

from __future__ import annotations

from django.db import models

from tasks.models.append_only import AppendOnlyModel
from tasks.models.task import Phase, Status


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    PHASE = "phase", "Phase changed"
    PROGRESS = "progress", "Progress"
    LOG = "log", "Log"
    APPROVAL = "approval", "Editorial decision"
    PUBLICATION = "publication", "Publication"


class TaskEvent(AppendOnlyModel):
    # db_index=False: the unique (task, sequence) index serves every lookup by task.
    task = models.ForeignKey(
        "tasks.GenerationTask", on_delete=models.CASCADE, related_name="events", db_index=False
    )
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    phase = models.CharField(max_length=16, choices=Phase.choices, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "sequence"]
        verbose_name = "task event"
        constraints = [
            models.UniqueConstraint(fields=["task", "sequence"], name="task_event_sequence_unique"),
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="task_event_sequence_positive"),
            models.CheckConstraint(condition=models.Q(kind__in=EventKind.values), name="task_event_kind_valid"),
            models.CheckConstraint(condition=models.Q(status__in=Status.values), name="task_event_status_valid"),
            models.CheckConstraint(condition=models.Q(phase__in=Phase.values), name="task_event_phase_valid"),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="task_event_progress_range"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind} {self.status}"
