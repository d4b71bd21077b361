"""Settings of the processes the WebSocket benchmark starts: bench.settings with sleeping stages."""

from bench.settings import *  # noqa: F401,F403

PRESSROOM_TASK_TYPES = {
    "blog_post": "bench.ws_stages.SLOW_STAGES",
    "image_generation": "bench.ws_stages.SLOW_STAGES",
}
