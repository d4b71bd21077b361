"""Every log line carries the id of the generation task being worked on (or `-`).

The engine sets the current task with `task_log_context(task_id)`; the filter copies it onto each
record, so `task=<uuid>` appears on every line a worker writes while running that task, whichever
module logs it.
"""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager

_current_task_id: contextvars.ContextVar[str] = contextvars.ContextVar("pressroom_task_id", default="-")


class TaskIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id"):
            record.task_id = _current_task_id.get()
        return True


@contextmanager
def task_log_context(task_id):
    token = _current_task_id.set(str(task_id))
    try:
        yield
    finally:
        _current_task_id.reset(token)
