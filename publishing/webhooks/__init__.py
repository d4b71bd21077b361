"""Outgoing webhooks and email notifications: what happens to tasks, told to the outside.

`models` (subscriptions, delivery attempts, pending notification lines), `events` (which state
changes are webhook events, and their body), `signing` (HMAC-SHA256 signatures), `services` (the
verbs: record, attempt, enable), `notifications` (digest emails), `jobs` (django-q2 entry points),
`receivers` (the one receiver of `tasks.signals.task_state_changed`), `admin` and `metrics`.
It lives in `publishing`, the one app that may import the others.
"""
