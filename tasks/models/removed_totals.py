"""What tasks took with them when they left the rows the database counters are read from."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class RemovedTaskTotals(models.Model):
    """Per status a task left: how many finished tasks left it (queued again by a retry or a
    revision, or deleted) and the tokens and cost of the tasks deleted from it.

    `tasks.metrics.TaskCollector` reads the tasks table and adds these, so the counters it
    serves (finished tasks by outcome, tokens, cost) never go down, as a counter must not:
    Prometheus takes any decrease for a restart from zero. One row per status, added to in the
    transaction that changes or deletes the task (`tasks.metrics.count_as_removed`).
    """

    status = models.CharField(max_length=16, primary_key=True)
    tasks = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal("0"))

    class Meta:
        verbose_name = "removed task total"
        verbose_name_plural = "removed task totals"

    def __str__(self) -> str:
        return f"{self.status}: {self.tasks} tasks"
