"""`StageContext`: what a running stage may know and do.

A stage reads the task's brief and the outputs of earlier stages, reports progress and log
lines, checks for cancellation and the deadline, and waits (interruptibly). Everything it writes
goes through the engine, which makes sure a task that stopped writes nothing more.
"""

from __future__ import annotations

import time
from decimal import Decimal

from tasks.engine.bookkeeping import guarded_update
from tasks.exceptions import LostOwnership, TaskCancelled
from tasks.models import EventKind, GenerationTask, StageCheckpoint, Status


class StageContext:
    def __init__(self, task: GenerationTask, *, worker: str, stages, watchdog):
        self.task = task
        self.worker = worker
        self.stages = stages
        self.watchdog = watchdog
        self.stage = None
        self._total_weight = sum(stage.weight for stage in stages) or 1
        self._last_progress = task.progress

    @property
    def attempt(self) -> int:
        return self.task.attempts

    # --- reading --------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        """The revision round: 0 for the first run, then one per reviewer's revision request."""
        return self.task.revision

    def checkpoint_data(self, stage_name: str) -> dict | None:
        """What stage `stage_name` recorded when it last finished (in this revision round or, for a
        stage a revision does not re-run, an earlier one), or None if it has not."""
        checkpoint = (
            StageCheckpoint.objects.filter(task_id=self.task.pk, stage=stage_name, revision__lte=self.task.revision)
            .order_by("-revision").first()
        )
        return checkpoint.data if checkpoint else None

    def completed_stages(self) -> set[str]:
        """Stages done in this revision round, and those a revision keeps from an earlier one.

        None on a task's very first run (attempt 1 of revision 0), without asking the database:
        checkpoints are written only by a run of the task, and the claim that started this run
        is the task's first (`attempts` only ever grows, by one per claim)."""
        if self.task.attempts == 1 and self.task.revision == 0:
            return set()
        rows = StageCheckpoint.objects.filter(task_id=self.task.pk).values_list("stage", "revision")
        kept = {stage.name for stage in self.stages if not stage.on_revision}
        return {name for name, revision in rows if revision == self.task.revision or name in kept}

    # --- stopping -------------------------------------------------------------------------
    def check(self) -> None:
        """Raise if the task was cancelled, is past its deadline or is no longer ours."""
        self.watchdog.raise_if_stopped()

    def sleep(self, seconds: float) -> None:
        """Wait, but stop at once when the task is cancelled or runs out of time."""
        end = time.monotonic() + max(0.0, seconds)
        with self.watchdog.interruptible():
            while (remaining := end - time.monotonic()) > 0:
                self.check()
                time.sleep(min(0.25, remaining))

    # --- reporting ------------------------------------------------------------------------
    def progress(self, fraction: float, message: str = "") -> None:
        """Report how far the current stage is (0.0–1.0); recorded when the percentage moves."""
        fraction = min(1.0, max(0.0, fraction))
        done = sum(stage.weight for stage in self.stages[: self.stages.index(self.stage)]) if self.stage else 0
        weight = self.stage.weight if self.stage else 0
        percent = int(100 * (done + weight * fraction) / self._total_weight)
        percent = min(99, max(self._last_progress, percent))
        if percent != self._last_progress or message:
            self._write(EventKind.PROGRESS, message, set_fields={"progress": percent})
            self._last_progress = percent

    def log(self, message: str, **data) -> None:
        self._write(EventKind.LOG, message, data)

    def charge(self, message: str, *, input_tokens: int, output_tokens: int, cost: Decimal, **data) -> None:
        """Add what the task was charged for outside any stored output (an answer a provider was
        paid for that the stage threw away, or kept no output of) to its totals, with a log
        event saying why; the event's data carries the tokens and the cost."""
        data |= {"input_tokens": input_tokens, "output_tokens": output_tokens, "cost": str(cost)}
        self._write(EventKind.LOG, message, data,
                    add={"input_tokens": input_tokens, "output_tokens": output_tokens, "actual_cost": cost})

    def _write(self, kind: str, message: str, data: dict | None = None, *, set_fields: dict | None = None,
               add: dict | None = None) -> None:
        """One event (and the change it reports), only while the task is this worker's; written
        even after a cancellation request, which the watchdog turns into a stop."""
        with self.watchdog.uninterruptible():
            guarded_update(self.task, worker=self.worker, set_fields=set_fields, add=add, allow_cancelled=True,
                           events=[{"kind": kind, "message": message, "data": data}])

    def locked_task(self) -> GenerationTask:
        """The task row's run state (status, worker, cancellation), locked, verified to still be
        this worker's running task. The brief is `self.task`'s: it cannot change while running."""
        task = (GenerationTask.objects.select_for_update()
                .only("status", "worker", "cancel_requested_at").get(pk=self.task.pk))
        if task.status != Status.RUNNING or task.worker != self.worker:
            raise LostOwnership("The task is no longer this worker's.")
        return task

    def locked_task_not_cancelled(self) -> GenerationTask:
        task = self.locked_task()
        if task.cancel_requested_at is not None:
            raise TaskCancelled("The task was cancelled.")
        return task
