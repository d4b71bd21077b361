"""Which webhook event a task's state change is, and the body a receiver gets for it.

`tasks.events.emit` sends `tasks.signals.task_state_changed` for every status, approval and
publication event; only some of them are webhook events: a status event whose status is
completed, failed or timed_out, an approval event deciding approved or rejected, a publication
event deciding published or unpublished (a scheduled post is announced when it goes live, not
when it is scheduled). The event id is derived from the task and the event's sequence number, so
it is the same for every attempt and every subscription: receivers use it to drop duplicates.
"""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from publishing.webhooks.models import WebhookEvent

_STATUS_EVENTS = {
    "completed": WebhookEvent.TASK_COMPLETED,
    "failed": WebhookEvent.TASK_FAILED,
    "timed_out": WebhookEvent.TASK_TIMED_OUT,
}
_DECISION_EVENTS = {
    ("approval", "approved"): WebhookEvent.TASK_APPROVED,
    ("approval", "rejected"): WebhookEvent.TASK_REJECTED,
    ("publication", "published"): WebhookEvent.POST_PUBLISHED,
    ("publication", "unpublished"): WebhookEvent.POST_UNPUBLISHED,
}
_EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c1e-8a52-4c47-9a0e-2a4f8f0d7b31")


def webhook_event_name(payload: dict) -> str | None:
    """The webhook event of a `task_state_changed` payload, or None when it is not one."""
    kind = payload.get("kind")
    if kind == "status":
        return _STATUS_EVENTS.get(payload.get("status"))
    decision = (payload.get("data") or {}).get("decision")
    return _DECISION_EVENTS.get((kind, decision))


def event_id(payload: dict) -> str:
    """Stable across attempts and subscriptions: one per task event."""
    return "evt_" + uuid.uuid5(_EVENT_ID_NAMESPACE, f"{payload['task']}:{payload['sequence']}").hex


def site_link(name: str, **kwargs) -> str | None:
    """The page's address on the site (PRESSROOM_SITE_URL before its path; the path alone when
    that is not set), or None when the arguments name no page: what webhook bodies and
    notification emails link to."""
    try:
        return settings.PRESSROOM_SITE_URL + reverse(name, **kwargs)
    except NoReverseMatch:
        return None


def webhook_body(name: str, payload: dict) -> dict:
    """What a receiver gets: the event's name and id, when it happened, the task's state and its
    page in the admin, and for a publication the post (with its address once published)."""
    data = payload.get("data") or {}
    body = {
        "id": event_id(payload),
        "type": name,
        "created_at": payload["created_at"],
        "task": {
            "id": payload["task"],
            "status": payload.get("status"),
            "phase": payload.get("phase"),
            "progress": payload.get("progress"),
            "url": site_link("admin:tasks_generationtask_change", args=[payload["task"]]),
        },
        "message": payload.get("message", ""),
    }
    if payload.get("kind") in ("approval", "publication"):
        body["decision"] = {key: data.get(key) for key in ("decision", "version", "actor")}
        if "reasons" in data:
            body["decision"]["reasons"] = data.get("reasons")
    if payload.get("kind") == "publication":
        body["post"] = {key: data.get(key) for key in ("post", "slug", "published_at")}
        body["post"]["id"] = body["post"].pop("post")
        if name == WebhookEvent.POST_PUBLISHED and data.get("slug"):
            body["post"]["url"] = site_link("publishing:post_detail", kwargs={"slug": data["slug"]})
    return body


def encode_body(body: dict) -> bytes:
    """The exact bytes that are sent and signed."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
