"""Services of `tasks`: every state change of a generation task is a verb here.

The API, the admin, management commands and jobs call these and nothing else, so a rule (which
transitions are legal, what is recorded, what is broadcast) is written once.
"""

from tasks.services.budgets import BudgetExceeded, budget_check, budget_set
from tasks.services.lifecycle import (
    task_cancel,
    task_create,
    task_delete,
    task_retry,
    task_update,
)
from tasks.services.queue import claim_next_task, wake_workers

__all__ = [
    "BudgetExceeded",
    "budget_check",
    "budget_set",
    "claim_next_task",
    "task_cancel",
    "task_create",
    "task_delete",
    "task_retry",
    "task_update",
    "wake_workers",
]
