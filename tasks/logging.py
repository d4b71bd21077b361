"""Every log line carries the id of the generation task being worked on and of the request being
served (`-` for none).

The engine sets the current task with `task_log_context(task_id)`; the request middleware
(`config/request_id.py`) binds the request's id with `bind_request_id(request_id)`. Both are
context variables, so they follow a request or a run through threads started with a copied
context and through asyncio tasks, and never leak from one request into the next. The filter
copies them onto each record, so `task_id` and `request_id` appear on every line (text or JSON)
whichever module logs it. This module imports nothing from the other apps.
"""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager

_current_task_id: contextvars.ContextVar[str] = contextvars.ContextVar("pressroom_task_id", default="-")
_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("pressroom_request_id", default="-")


class LogContextFilter(logging.Filter):
    """Puts the current task id and request id on every record (unless the caller gave one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id"):
            record.task_id = _current_task_id.get()
        if not hasattr(record, "request_id"):
            record.request_id = _current_request_id.get()
        return True


@contextmanager
def task_log_context(task_id):
    token = _current_task_id.set(str(task_id))
    try:
        yield
    finally:
        _current_task_id.reset(token)


def bind_request_id(request_id: str) -> None:
    """Make `request_id` the current request's id, until `unbind_request_id()`. Not a context
    manager: Django logs a request's 4xx/5xx line after the middleware has returned, so the id is
    unbound when the response is closed (the request_finished signal), not when the middleware ends."""
    _current_request_id.set(request_id)


def unbind_request_id(**_signal_kwargs) -> None:
    _current_request_id.set("-")


def current_request_id() -> str:
    return _current_request_id.get()
