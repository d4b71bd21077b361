"""The one receiver of `tasks.signals.task_state_changed` for webhooks and notifications.

It runs after the change committed (in the web process or the worker that made it) and only
writes rows and enqueues jobs: the sending happens in django-q2 jobs, so a slow receiver or mail
server never slows a task or a request. Each half is guarded on its own, so a failure of one
never stops the other.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from publishing.webhooks.notifications import notifications_queue
from publishing.webhooks.services import webhook_deliveries_create
from tasks.signals import task_state_changed

logger = logging.getLogger(__name__)


@receiver(task_state_changed, dispatch_uid="publishing.webhooks.on_task_state_changed")
def on_task_state_changed(sender, event: dict, **kwargs) -> None:
    try:
        webhook_deliveries_create(payload=event)
    except Exception:
        logger.exception("Could not record webhook deliveries for event %s/%s", event.get("task"), event.get("sequence"))
    try:
        notifications_queue(payload=event)
    except Exception:
        logger.exception("Could not queue notifications for event %s/%s", event.get("task"), event.get("sequence"))
