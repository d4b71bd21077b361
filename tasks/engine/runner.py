"""Running one claimed task from its first unfinished stage to an outcome.

The life of a run:

1. A worker claims the task (`services.queue.claim_next_task`): status `running`, attempt +1,
   a deadline of now + `timeout_seconds`, and a per-claim worker id.
2. A watchdog thread keeps the heartbeat and watches for cancellation and the deadline.
3. Each stage without a checkpoint runs (`Stage.run`, interruptible), then one transaction, only
   if the task is still this worker's and not cancelled, stores its output (`Stage.persist`) and
   its checkpoint, its progress, and enters the next stage, or after the last one records the
   outcome `completed`: a five-stage run is seven transactions (claim, first stage, five
   completions), each of the engine's changes a single guarded statement that also writes its
   events and the checkpoint (`engine.bookkeeping`).
4. Other outcomes are recorded the same guarded way: `cancelled`; `timed_out`;
   `failed` for permanent errors; for transient errors `queued` again after a backoff, until
   `max_attempts`, then `failed`. If the task is no longer this worker's (the reconciler gave it to
   another worker or ended it), nothing at all is written.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models.functions import Now
from django_q.exceptions import TimeoutException

from tasks.control_characters import storable_text
from tasks.engine.bookkeeping import DATABASE_NOW, guarded_update
from tasks.engine.context import StageContext
from tasks.engine.stages import stages_for
from tasks.engine.watchdog import Watchdog
from tasks.events import emit
from tasks.exceptions import (
    DeadlineExceeded,
    LostOwnership,
    PermanentError,
    StageRejected,
    TaskCancelled,
    TransientError,
)
from tasks.logging import task_log_context
from tasks.metrics import timed_stage
from tasks.models import EventKind, GenerationTask, Phase, Status
from tasks.services.queue import wake_workers
from tasks.services.requeue import after_failed_run, requeue_or_give_up
from tasks.transitions import change_status

logger = logging.getLogger(__name__)

# How long a worker keeps trying to record an outcome while the database is unreachable (a
# restart); after that the reconciler recovers the task from its stale heartbeat.
RECORD_OUTCOME_FOR_SECONDS = 60
# A requeued task waits at most this long inside a wake-up job; longer backoffs are left to the
# reconciler's periodic wake-ups.
WAIT_IN_JOB_MAX_SECONDS = 30
PHASES = frozenset(Phase.values)  # `Phase.values` builds a new list on every call


def run_claimed_task(task_id, *, worker: str, claimed: GenerationTask | None = None) -> str:
    """Run the task this worker just claimed; returns the status it ended in (or 'lost').
    `claimed`: the row as the claim left it (saves reading it again)."""
    task = claimed if claimed is not None and claimed.pk == task_id else GenerationTask.objects.get(pk=task_id)
    with task_log_context(task.pk):
        logger.info("Running attempt %s of %s", task.attempts, task.max_attempts)
        try:
            stages = stages_for(task.task_type)
        except PermanentError as error:
            return _record_outcome(task, worker, Status.FAILED, str(error))
        with Watchdog(task, worker=worker) as watchdog:
            ctx = StageContext(task, worker=worker, stages=stages, watchdog=watchdog)
            return _run_stages(ctx, watchdog)


def _run_stages(ctx: StageContext, watchdog: Watchdog) -> str:
    task, worker = ctx.task, ctx.worker
    stage_name = ""
    try:
        done = ctx.completed_stages()
        pending = [stage for stage in ctx.stages if stage.name not in done]
        if not pending:
            return _record_outcome(ctx.task, worker, Status.COMPLETED, "")
        _enter_first_stage(ctx, pending[0])
        for index, stage in enumerate(pending):
            stage_name = stage.name
            following = pending[index + 1] if index + 1 < len(pending) else None
            # Timed with its output stored: a stage whose output `persist` refuses (StageRejected)
            # is observed as the permanent error it is, not `ok`.
            with timed_stage(stage.name):
                with watchdog.interruptible():
                    output = stage.run(ctx)
                _complete_stage(ctx, stage, output, following)
        logger.info("Finished: %s", Status.COMPLETED)
        return Status.COMPLETED
    except TaskCancelled:
        return _record_outcome(ctx.task, worker, Status.CANCELLED, "", message=_where("Cancelled", stage_name))
    except (DeadlineExceeded, TimeoutException):
        error = f"Timed out: the task ran past its {task.timeout_seconds}s deadline" + _in(stage_name) + "."
        return _record_outcome(ctx.task, worker, Status.TIMED_OUT, error)
    except LostOwnership:
        logger.warning("The task is no longer this worker's; stopping without writing anything.")
        return "lost"
    except TransientError as error:
        return _retry_or_fail(ctx.task, worker, f"{error}{_in(stage_name)}", stage_name=stage_name,
                              retry_after=error.retry_after)
    except PermanentError as error:
        return _record_outcome(ctx.task, worker, Status.FAILED, f"{error}{_in(stage_name)}")
    except (OperationalError, InterfaceError) as error:
        logger.warning("Database connection lost: %s", error)
        return _retry_or_fail(ctx.task, worker, f"Lost the database connection{_in(stage_name)}: {error}".strip(),
                              stage_name=stage_name)
    except Exception as error:
        logger.exception("Unexpected error%s", _in(stage_name))
        return _record_outcome(
            ctx.task, worker, Status.FAILED, f"Unexpected error{_in(stage_name)}: {type(error).__name__}: {error}"
        )


def _in(stage_name: str) -> str:
    return f" (stage {stage_name})" if stage_name else ""


def _where(prefix: str, stage_name: str) -> str:
    return f"{prefix} during stage {stage_name}." if stage_name else f"{prefix}."


def _phase_of(ctx: StageContext, stage) -> str:
    return stage.shown_phase if stage.shown_phase in PHASES else ctx.task.phase


def _started_event(ctx: StageContext, stage) -> dict:
    return {"kind": EventKind.PHASE, "message": f"Stage {stage.name} started.", "data": {"stage": stage.name},
            "phase": _phase_of(ctx, stage)}


def _enter_first_stage(ctx: StageContext, stage) -> None:
    """Show the first stage to run (its phase and event); later stages are entered by the write
    that completes the one before."""
    ctx.check()
    guarded_update(ctx.task, worker=ctx.worker, set_fields={"phase": _phase_of(ctx, stage)},
                   events=[_started_event(ctx, stage)])
    ctx.stage = stage


def _complete_stage(ctx: StageContext, stage, output, following) -> None:
    """One transaction: the stage's output and its checkpoint (never one without the other), its
    progress, and then either entering the `following` stage or, after the last, the outcome
    `completed`. Events, in order: what `persist` logged, "Stage … done.", then "Stage … started."
    of the next stage or the status event "Completed.". Without `persist` that is a single
    statement (`guarded_update`), which commits by itself."""
    if not stage.persist:
        _checkpoint_and_advance(ctx, stage, None, following)
        ctx.stage = following
        return
    rejected = None
    with transaction.atomic():
        # persist writes under the task's row lock (version numbers are allocated under it) and
        # may log: lock and check first, so nothing it writes survives a failed guard.
        ctx.locked_task_not_cancelled()
        try:
            data = stage.persist(ctx, output)
        except StageRejected as rejection:  # the output stays (this transaction commits), no checkpoint
            rejected = rejection
            emit(ctx.task, EventKind.LOG, message=f"Stage {stage.name} stored its output but did not pass: {rejection}")
        else:
            _checkpoint_and_advance(ctx, stage, data, following)
    if rejected is not None:
        raise rejected
    ctx.stage = following


def _checkpoint_and_advance(ctx: StageContext, stage, data, following) -> None:
    index = ctx.stages.index(stage)
    done_weight = sum(s.weight for s in ctx.stages[: index + 1])
    progress = max(ctx._last_progress, min(99, int(100 * done_weight / ctx._total_weight)))
    done = {"kind": EventKind.PROGRESS, "message": f"Stage {stage.name} done.", "data": {"stage": stage.name},
            "status": Status.RUNNING, "phase": ctx.task.phase, "progress": progress}
    checkpoint = {"stage": stage.name, "attempt": ctx.task.attempts, "revision": ctx.task.revision, "data": data}
    if following is not None:
        guarded_update(ctx.task, worker=ctx.worker, events=[done, _started_event(ctx, following)],
                       set_fields={"progress": progress, "phase": _phase_of(ctx, following)}, checkpoint=checkpoint)
    else:
        change_status(ctx.task, Status.COMPLETED)  # the transition table's check; the guard ensures `running`
        guarded_update(ctx.task, worker=ctx.worker, events=[done, {"kind": EventKind.STATUS, "message": "Completed."}],
                       set_fields={"status": Status.COMPLETED, "progress": 100, "phase": Phase.NONE, "error": "",
                                   "finished_at": DATABASE_NOW, "heartbeat_at": None}, checkpoint=checkpoint)
    ctx._last_progress = progress


def _guarded_write(task: GenerationTask, worker: str, write) -> str | None:
    """Apply `write(locked_task)` only if the task is still this worker's running task; keep
    trying while the database is unreachable. Returns None when the task was not ours.

    The locked row comes with the database's time (`database_now`), read by the same statement:
    a backoff's `available_at` counts from the clock the claim judges it by, whichever machine's
    worker claims next, so a clock behind does not skip the backoff nor one ahead stretch it. The
    outcome's `finished_at` comes from it too, as the claim's `started_at` did."""
    deadline = time.monotonic() + RECORD_OUTCOME_FOR_SECONDS
    while True:
        try:
            with transaction.atomic():
                locked = GenerationTask.objects.select_for_update().annotate(database_now=Now()).get(pk=task.pk)
                if locked.status != Status.RUNNING or locked.worker != worker:
                    return None
                return write(locked)
        except (OperationalError, InterfaceError):
            if time.monotonic() >= deadline:
                logger.error("Could not record the outcome; the reconciler will recover the task.")
                raise
            connection.close()
            time.sleep(1)


def _finish(locked: GenerationTask, status: str, error: str, *, message: str = "") -> str:
    """End the locked task in `status` with its status event."""
    change_status(locked, status)
    locked.error = error
    locked.finished_at = locked.database_now
    locked.heartbeat_at = None
    if status == Status.COMPLETED:
        locked.progress = 100
        locked.phase = Phase.NONE
    locked.save()
    text = message or error or {Status.COMPLETED: "Completed."}.get(status, status)
    emit(locked, EventKind.STATUS, message=text)
    return status


def _record_outcome(task: GenerationTask, worker: str, status: str, error: str, *, message: str = "") -> str:
    error = storable_text(error)  # it may quote any exception ("Unexpected error: …")
    connection.close_if_unusable_or_obsolete()
    outcome = _guarded_write(task, worker, lambda locked: _finish(locked, status, error, message=message))
    if outcome is None:
        logger.warning("Outcome %s not recorded: the task is no longer this worker's.", status)
        return "lost"
    logger.info("Finished: %s%s", status, f" ({error})" if error else "")
    return outcome


def _retry_or_fail(task: GenerationTask, worker: str, error: str, *, stage_name: str,
                   retry_after: float | None = None) -> str:
    """Requeue the task after a failure worth another attempt, or fail it when none is left; a
    cancel asked for meanwhile (before the watchdog's next beat could stop the stage) wins: the
    task ends cancelled, as the reconciler would settle it."""
    error = storable_text(error)

    def write(locked: GenerationTask) -> str:
        if locked.cancel_requested_at is not None:
            return _finish(locked, Status.CANCELLED, "", message=_where("Cancelled", stage_name))
        decision = after_failed_run(locked, backoff=True, retry_after=retry_after)
        outcome = requeue_or_give_up(locked, decision, now=locked.database_now,
                                     give_up_error=f"Gave up after {locked.attempts} attempts. Last error: {error}")
        if outcome == Status.FAILED:
            locked.save()
            emit(locked, EventKind.STATUS, message=locked.error)
            return outcome
        locked.error = error
        locked.save()
        emit(locked, EventKind.STATUS,
             message=f"Attempt {locked.attempts} failed ({error}); retrying in {decision.delay:.1f}s.",
             data={"retry_in": round(decision.delay, 3)})
        wake_workers(1, not_before=locked.available_at if decision.delay <= WAIT_IN_JOB_MAX_SECONDS else None)
        return outcome

    try:
        connection.close_if_unusable_or_obsolete()
    except DatabaseError:
        connection.close()
    outcome = _guarded_write(task, worker, write)
    return "lost" if outcome is None else outcome
