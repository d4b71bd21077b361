"""The allowed transitions of a task's status and of its approval status, in one table each.

Every writer of `GenerationTask.status` (the lifecycle verbs, the queue's claim, the runner's
outcomes, the reconciler) and of `approval_status` (the review and publishing verbs) calls
`change_status` / `change_approval` instead of assigning the field, so a transition that is not
in the table raises `InvalidTransition` and nothing is written. `tests/tasks/test_transitions.py`
walks every pair.
"""

from __future__ import annotations

from tasks.exceptions import InvalidTransition
from tasks.models import ApprovalStatus, GenerationTask, Status

# status -> the statuses it may become, and what makes each move.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    # claimed by a worker; cancelled before it started
    Status.QUEUED: frozenset({Status.RUNNING, Status.CANCELLED}),
    # outcomes of a run; queued again after a transient failure or a vanished worker
    Status.RUNNING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.TIMED_OUT, Status.QUEUED}),
    # a reviewer's revision request runs the task again
    Status.COMPLETED: frozenset({Status.QUEUED}),
    # a manual retry
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.CANCELLED: frozenset({Status.QUEUED}),
    Status.TIMED_OUT: frozenset({Status.QUEUED}),
}

# approval status -> the approval statuses it may become.
APPROVAL_TRANSITIONS: dict[str, frozenset[str]] = {
    # a reviewer decides
    ApprovalStatus.PENDING: frozenset({ApprovalStatus.APPROVED, ApprovalStatus.REJECTED}),
    # revoked, or a new version (edit, restore) needs a new decision
    ApprovalStatus.APPROVED: frozenset({ApprovalStatus.PENDING}),
    # a new version (edit, restore, revision) needs a new decision
    ApprovalStatus.REJECTED: frozenset({ApprovalStatus.PENDING}),
}


def status_change_allowed(current: str, new: str) -> bool:
    return new in STATUS_TRANSITIONS.get(current, frozenset())


def approval_change_allowed(current: str, new: str) -> bool:
    return new in APPROVAL_TRANSITIONS.get(current, frozenset())


def _label(choices, value: str) -> str:
    return str(dict(choices.choices).get(value, value)).lower()


def change_status(task: GenerationTask, new: str) -> None:
    """Set `task.status` to `new` (unsaved), or raise `InvalidTransition` if the table forbids it."""
    if not status_change_allowed(task.status, new):
        raise InvalidTransition(
            f"A {_label(Status, task.status)} task cannot become {_label(Status, new)}."
        )
    task.status = new


def change_approval(task: GenerationTask, new: str) -> None:
    """Set `task.approval_status` to `new` (unsaved), or raise `InvalidTransition`."""
    if not approval_change_allowed(task.approval_status, new):
        raise InvalidTransition(
            f"Approval cannot go from {_label(ApprovalStatus, task.approval_status)} to {_label(ApprovalStatus, new)}."
        )
    task.approval_status = new
