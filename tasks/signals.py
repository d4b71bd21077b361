"""Signals of the `tasks` app: one place to subscribe to every state change of a task.

`task_state_changed` is sent by `tasks.events.emit` once the transaction that recorded the change
has committed, for every event of kind status (queued, running, completed, …), approval
(approved, rejected, revoked, edited, restored) and publication (published, scheduled,
unpublished). Receivers get `event`, the event's payload as WebSocket clients see it. Later
webhooks and metrics subscribe here; a failing receiver never affects the change or other
receivers (`send_robust`).
"""

from django.dispatch import Signal

task_state_changed = Signal()
