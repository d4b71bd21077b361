"""Models of the `tasks` app, one module per concern, re-exported here."""

from tasks.models.append_only import AppendOnlyModel, AppendOnlyQuerySet
from tasks.models.catalog import ModelCatalogEntry, Provider
from tasks.models.events import EventKind, TaskEvent
from tasks.models.task import (
    ApprovalStatus,
    GenerationTask,
    Phase,
    Status,
    Style,
    TaskType,
    Tone,
)

__all__ = [
    "AppendOnlyModel",
    "AppendOnlyQuerySet",
    "ApprovalStatus",
    "EventKind",
    "GenerationTask",
    "ModelCatalogEntry",
    "Phase",
    "Provider",
    "Status",
    "Style",
    "TaskEvent",
    "TaskType",
    "Tone",
]
