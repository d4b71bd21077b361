"""Domain errors: a service refuses an operation once, every way in reports it the same.

The API turns a `DomainError` into its status code and error body (see `config.api`); the admin
shows its message. Subclasses in `content` and `publishing` derive from these.
"""

from __future__ import annotations

from tasks.control_characters import storable_text


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, fields: dict | None = None):
        super().__init__(message)
        self.fields = fields or {}

    @property
    def details(self) -> dict:
        """More of the error body beside code, message and fields (e.g. the budget's figures)."""
        return {}


class InvalidTransition(DomainError):
    """The object is not in a state that allows this operation (409 Conflict)."""

    status_code = 409
    code = "invalid_transition"


class NoLongerExists(DomainError):
    """The object was deleted while the operation was on its way (404 Not Found): it was found,
    then someone else's delete committed before its row could be locked."""

    status_code = 404
    code = "not_found"


class AppendOnlyViolation(DomainError):
    """Audit rows and events are written once; nobody edits or deletes them."""

    status_code = 409
    code = "append_only"


class StageError(Exception):
    """Base of the errors a stage (or a provider under it) raises to tell the engine what to do.

    Its message is stored (the task's error, its events, a stage's warnings) and often quotes a
    provider's answer or a fetched page, so it is made storable here, once: without the characters
    PostgreSQL cannot store (`storable_text`; a NUL in a provider's error body stranded the task).
    """

    def __init__(self, message: str = ""):
        super().__init__(storable_text(str(message)))


class TransientError(StageError):
    """Worth trying again later: timeouts, lost connections, HTTP 429 and 5xx.

    `retry_after` (seconds) is the server's own hint (the Retry-After header), honoured as the
    minimum wait before the next try.
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(StageError):
    """Trying again cannot help: bad request, failed authentication, an invalid brief."""


class StageRejected(PermanentError):
    """Raised by a stage's `persist` after it stored its output: keep the output, fail the task.

    The stage gets no checkpoint, so a retried task runs it again (e.g. more QA rounds).
    """


class TaskInterrupted(BaseException):
    """Raised inside a running stage to stop it; a BaseException so that `except Exception`
    in stage or library code cannot swallow it."""


class TaskCancelled(TaskInterrupted):
    """Someone asked to cancel the task."""


class DeadlineExceeded(TaskInterrupted):
    """The task ran past its deadline."""


class LostOwnership(TaskInterrupted):
    """The task is no longer this worker's (the reconciler requeued or ended it)."""
