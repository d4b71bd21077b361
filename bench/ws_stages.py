"""The WebSocket benchmark's pipeline: the five bench stages, each sleeping a little.

So that a task emits its events over a few seconds (as a real pipeline does, only faster) and
watchers receive them one by one while other tasks run. `PRESSROOM_BENCH_STAGE_SECONDS` sets
the sleep (default 0.5 s per stage).
"""

from __future__ import annotations

import os
import time

from bench.stages import STAGE_NAMES
from tasks.engine import Stage


def _sleep(ctx) -> None:
    time.sleep(float(os.environ.get("PRESSROOM_BENCH_STAGE_SECONDS", "0.5")))


SLOW_STAGES = [Stage(name, run=_sleep) for name in STAGE_NAMES]
