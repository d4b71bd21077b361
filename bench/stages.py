"""The benchmark pipeline: five stages that do nothing, named like the real pipeline's phases.

A task still goes through all of the engine's bookkeeping for each stage (phase change, checkpoint,
progress, their events and broadcasts), so a run measures the engine itself and nothing of the
content pipeline or of any model provider.
"""

from __future__ import annotations

from tasks.engine import Stage

STAGE_NAMES = ("research", "draft", "qa", "image", "format")


def _do_nothing(ctx) -> None:
    return None


BENCH_STAGES = [Stage(name, run=_do_nothing) for name in STAGE_NAMES]
