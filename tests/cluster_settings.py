"""Settings for processes the tests start (clusters, web servers): the real settings with the
test pipeline from tests/tasks/stages.py in place of the content pipeline."""

from tests.settings import *  # noqa: F401,F403

PRESSROOM_TASK_TYPES = {
    "blog_post": "tests.tasks.stages.TEST_STAGES",
    "image_generation": "tests.tasks.stages.TEST_STAGES",
}
