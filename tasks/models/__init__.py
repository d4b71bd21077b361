"""Models of the `tasks` app, one module per concern, re-exported here."""

from tasks.models.append_only import AppendOnlyModel, AppendOnlyQuerySet
from tasks.models.budgets import CostBudget, CostBudgetChange
from tasks.models.catalog import ModelCatalogEntry, Provider
from tasks.models.checkpoints import StageCheckpoint
from tasks.models.events import EventKind, TaskEvent
from tasks.models.removed_totals import RemovedTaskTotals
from tasks.models.task import (
    FINISHED_STATUSES,
    ApprovalStatus,
    GenerationTask,
    Phase,
    Status,
    Style,
    TaskType,
    Tone,
)

__all__ = [
    "FINISHED_STATUSES",
    "AppendOnlyModel",
    "AppendOnlyQuerySet",
    "ApprovalStatus",
    "CostBudget",
    "CostBudgetChange",
    "EventKind",
    "GenerationTask",
    "ModelCatalogEntry",
    "Phase",
    "Provider",
    "RemovedTaskTotals",
    "StageCheckpoint",
    "Status",
    "Style",
    "TaskEvent",
    "TaskType",
    "Tone",
]
