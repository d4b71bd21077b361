"""Domain errors: a service refuses an operation once, every way in reports it the same.

The API turns a `DomainError` into its status code and error body (see `config.api`); the admin
shows its message. Subclasses in `content` and `publishing` derive from these.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, fields: dict | None = None):
        super().__init__(message)
        self.fields = fields or {}


class InvalidTransition(DomainError):
    """The object is not in a state that allows this operation (409 Conflict)."""

    status_code = 409
    code = "invalid_transition"


class AppendOnlyViolation(DomainError):
    """Audit rows and events are written once; nobody edits or deletes them."""

    status_code = 409
    code = "append_only"
