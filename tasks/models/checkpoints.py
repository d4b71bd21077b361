"""`StageCheckpoint`: the durable record that one stage of a task is done.

A checkpoint is written in the same transaction as the stage's output (a content version, an
image...), so after any crash either both exist or neither does; a task run again resumes at the
first stage without a checkpoint and never repeats or duplicates a finished one. A reviewer's
revision request starts a new revision round: the stages that a revision re-runs get a new
checkpoint in that round, the others keep the one of an earlier round.
"""

from __future__ import annotations

from django.db import models

from tasks.models.append_only import AppendOnlyModel


class StageCheckpoint(AppendOnlyModel):
    # db_index=False: the unique (task, revision, stage) index serves every lookup by task.
    task = models.ForeignKey(
        "tasks.GenerationTask", on_delete=models.CASCADE, related_name="checkpoints", db_index=False
    )
    stage = models.CharField(max_length=64)
    attempt = models.PositiveSmallIntegerField(help_text="The run (attempt number) that completed the stage.")
    revision = models.PositiveSmallIntegerField(
        default=0, help_text="The task's revision round in which the stage completed."
    )
    data = models.JSONField(default=dict, blank=True, help_text="What later stages need to find the output.")
    completed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "completed_at"]
        verbose_name = "stage checkpoint"
        constraints = [models.UniqueConstraint(fields=["task", "revision", "stage"], name="checkpoint_one_per_stage_and_revision")]

    def __str__(self) -> str:
        return f"{self.stage} (attempt {self.attempt})"
