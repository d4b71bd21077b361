"""What a task type runs: an ordered list of named stages, looked up by task type.

`settings.PRESSROOM_TASK_TYPES` maps each task type to the dotted path of its stage list, so the
engine (in `tasks`) finds the pipeline (in `content`) without importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from tasks.exceptions import PermanentError


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline.

    `run(ctx)` does the slow work (model calls, fetching, rendering) and returns its output; it
    must not write to the database except through `ctx` (events). Cancellation and the deadline
    can interrupt it at any point. `persist(ctx, output)` then stores the output in the same
    transaction as the stage's checkpoint and returns what later stages need to find it (kept in
    the checkpoint's `data`); it is never interrupted. `weight` is the stage's share of progress.
    `on_revision`: whether a reviewer's revision request runs the stage again (a draft does; the
    research and the featured image of the first round are kept).
    """

    name: str
    run: Callable[[Any], Any]
    persist: Callable[[Any, Any], dict | None] | None = None
    phase: str = ""
    weight: int = 1
    on_revision: bool = False

    @property
    def shown_phase(self) -> str:
        return self.phase or self.name


def stages_for(task_type: str) -> list[Stage]:
    path = settings.PRESSROOM_TASK_TYPES.get(task_type)
    if not path:
        raise PermanentError(f"No pipeline is configured for task type {task_type!r}.")
    try:
        stages = list(import_string(path))
    except ImportError as error:
        raise PermanentError(f"The pipeline of {task_type!r} ({path}) cannot be loaded: {error}") from None
    names = [stage.name for stage in stages]
    if not stages or len(set(names)) != len(names):
        raise PermanentError(f"The pipeline of {task_type!r} must list stages with distinct names, got {names}.")
    return stages
