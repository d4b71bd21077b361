"""The durable task engine: runs the stages a task type registers, with checkpoints, heartbeats,
deadlines, cancellation and retries. See `runner.run_claimed_task` for the life of one run."""

from tasks.engine.context import StageContext
from tasks.engine.retry import backoff_delay, call_with_retries
from tasks.engine.stages import Stage, stages_for

__all__ = ["Stage", "StageContext", "backoff_delay", "call_with_retries", "stages_for"]
