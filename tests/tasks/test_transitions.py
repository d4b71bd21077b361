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
    `change_approval`: no Python assignment to such an attribute anywhere else (read from the
    syntax tree, so SQL text and comparisons do not count). Two assignments are not changes: a
    webhook delivery attempt's own status (`delivery.status`), and copying back the `row` a
    guarded UPDATE returned (`tasks/engine/bookkeeping.py`, after `change_status` checked the
    change)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []

    def targets(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                yield from targets(element)
        else:
            yield node

    for path in [*root.glob("tasks/**/*.py"), *root.glob("content/**/*.py"), *root.glob("publishing/**/*.py")]:
        if "migrations" in path.parts or path.name == "transitions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            assigned = (node.targets if isinstance(node, ast.Assign)
                        else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == "row":
                continue
            for target in (t for group in assigned for t in targets(group)):
                if (isinstance(target, ast.Attribute) and target.attr in ("status", "approval_status")
                        and not (isinstance(target.value, ast.Name) and target.value.id == "delivery")):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)[:120]}")
    assert offenders == []
