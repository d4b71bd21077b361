"""The one table of allowed status and approval transitions, walked pair by pair."""

from __future__ import annotations

import itertools

import pytest

from tasks.exceptions import InvalidTransition
from tasks.models import ApprovalStatus, GenerationTask, Status
from tasks.transitions import (
    APPROVAL_TRANSITIONS,
    STATUS_TRANSITIONS,
    change_approval,
    change_status,
)

ALLOWED_STATUS = {
    ("queued", "running"), ("queued", "cancelled"),
    ("running", "completed"), ("running", "failed"), ("running", "cancelled"), ("running", "timed_out"),
    ("running", "queued"),
    ("completed", "queued"), ("failed", "queued"), ("cancelled", "queued"), ("timed_out", "queued"),
}
ALLOWED_APPROVAL = {
    ("pending", "approved"), ("pending", "rejected"), ("approved", "pending"), ("rejected", "pending"),
}


def test_every_status_has_a_row_in_the_table():
    assert set(STATUS_TRANSITIONS) == set(Status.values)
    assert set(APPROVAL_TRANSITIONS) == set(ApprovalStatus.values)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(Status.values, repeat=2)))
def test_status_transition_pairs(current, new):
    task = GenerationTask(status=current)
    if (current, new) in ALLOWED_STATUS:
        change_status(task, new)
        assert task.status == new
    else:
        with pytest.raises(InvalidTransition):
            change_status(task, new)
        assert task.status == current


@pytest.mark.parametrize(("current", "new"), list(itertools.product(ApprovalStatus.values, repeat=2)))
def test_approval_transition_pairs(current, new):
    task = GenerationTask(approval_status=current)
    if (current, new) in ALLOWED_APPROVAL:
        change_approval(task, new)
        assert task.approval_status == new
    else:
        with pytest.raises(InvalidTransition):
            change_approval(task, new)
        assert task.approval_status == current


def test_no_module_assigns_a_status_except_through_the_table():
    """Every writer of a task's `status` / `approval_status` goes through `change_status` /
    `change_approval`. A webhook delivery attempt's own status (`delivery.status`) is not a task's."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    pattern = re.compile(r"(?<!delivery)\.(status|approval_status)\s*=(?!=)|\b(status|approval_status)\s*,\s*\w+\.finished_at\s*=")
    for path in [*root.glob("tasks/**/*.py"), *root.glob("content/**/*.py"), *root.glob("publishing/**/*.py")]:
        if "migrations" in path.parts or path.name == "transitions.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
