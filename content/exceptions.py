"""Domain errors of the editorial workflow, answered alike by the API (status code) and the admin."""

from __future__ import annotations

from tasks.exceptions import DomainError


class PermissionDenied(DomainError):
    """The user may see the task but not take this action (403), e.g. an editor approving."""

    status_code = 403
    code = "permission_denied"
