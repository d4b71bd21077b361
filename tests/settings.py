"""Settings of the test run: the real settings, with a queue of this run's own.

Clusters that tests start inherit PRESSROOM_QUEUE_NAME from the environment set here, so their
wake-up jobs never mix with another run's or a `make run` on the same Redis.
"""

import os
import uuid

os.environ.setdefault("PRESSROOM_QUEUE_NAME", f"pressroom-test-{uuid.uuid4().hex[:8]}")

from config.settings import *  # noqa: E402,F401,F403
