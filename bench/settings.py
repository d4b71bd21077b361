"""Settings of the processes the engine benchmark starts: the real settings, with trivial stages.

Everything else (broker, queue name, worker count, throttles) comes from the environment the
benchmark sets, read by `config.settings` as in production. Two things differ, both so that the
measurement itself is possible: every task type runs `bench.stages.BENCH_STAGES`, and the
django-q2 result limit is raised to hold one result per benchmark job (the plain django-q2
baseline counts them; with the default limit of 1000 the oldest would be pruned).
"""

from config.settings import *  # noqa: F401,F403
from config.settings import CACHES, Q_CLUSTER
from config.env import env_int, env_str

PRESSROOM_TASK_TYPES = {
    "blog_post": "bench.stages.BENCH_STAGES",
    "image_generation": "bench.stages.BENCH_STAGES",
}

Q_CLUSTER = {
    **Q_CLUSTER,
    "save_limit": max(Q_CLUSTER["save_limit"], env_int("PRESSROOM_BENCH_SAVE_LIMIT", 0, minimum=0)),
}

# A key prefix of the run's own, so throttle history never carries over between runs on one Redis
# and the benchmark can delete exactly its own keys afterwards.
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": env_str("PRESSROOM_BENCH_CACHE_PREFIX", "")}}
