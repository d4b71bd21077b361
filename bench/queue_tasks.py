"""Queue trivial tasks through the service, as a creator would, for the benchmarks that start a
cluster on a queue filled beforehand.

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.queue_tasks COUNT

Each task is created by `tasks.services.task_create` (its row, its first event, its wake-up job on
the broker and queue the settings name), by a staff user `bench-queue` made here if missing.
"""

from __future__ import annotations

import sys

BRIEF = {"topic": "A benchmark topic", "task_type": "blog_post"}


def queue_tasks(count: int) -> None:
    from django.contrib.auth import get_user_model

    from tasks.services import task_create

    creator, _ = get_user_model().objects.get_or_create(username="bench-queue", defaults={"is_staff": True})
    for _ in range(count):
        task_create(created_by=creator, brief=BRIEF)


if __name__ == "__main__":
    import django

    django.setup()
    queue_tasks(int(sys.argv[1]))
