"""Email notifications: reviewers hear when a task awaits review, admins when one fails or times
out and when a webhook subscription is switched off after failures (or a 410 Gone), in digests
rather than one email per event.

Each state change that concerns someone adds a `PendingNotification` per recipient; a
subscription's line is added in the transaction that switches it off
(`publishing.webhooks.services`), so a rollback tells nobody, and quotes only its URL's scheme,
host and port (the path and query can be the receiver's secret; the line links to its admin
page). The first line of a recipient's next digest enqueues one job
(`publishing.webhooks.jobs.send_digest`) due PRESSROOM_NOTIFY_DIGEST_SECONDS later; lines added
meanwhile ride along, so ten tasks finishing within the window make one email listing ten (a
burst lists its first DIGEST_MAX_LINES and counts the rest). Adding a line and sending a digest
both take the recipient's advisory lock, so a line is either in the digest being sent or starts
the next one, never stranded between the two; adding a line never waits for the lock (a slow mail server would
hold up the worker that finished the task), and a line added while it is taken starts a digest
job of its own. The digest is sent inside that transaction: if the mail server
refuses it, nothing is marked sent and the job fails visibly in django-q2 (the minute sweep tries
again, one recipient's failure not stopping the others'). An address no mail header can carry
(`config.email_addresses`) is never tried: its lines are marked sent with a warning logged.

Who: reviewers are active users holding `content.review_content` through their groups or
directly (the Reviewers group), admins are active superusers; users without an email address get
nothing. There is no per-user opt-out: these emails are the duties of a role, so a person stops
receiving them by leaving the role (or clearing their address); PRESSROOM_NOTIFY_EMAILS=0 turns
them all off.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from config.email_addresses import header_refusal
from config.locks import NOTIFICATION_DIGESTS, advisory_xact_lock, advisory_xact_lock_if_free, rows_kept
from content.services.review import four_eyes_barred
from publishing.webhooks.events import site_link
from publishing.webhooks.models import NotificationReason, PendingNotification, WebhookSubscription
from publishing.webhooks.queueing import enqueue_job_at
from tasks.control_characters import as_one_line
from tasks.models import ApprovalStatus, GenerationTask

logger = logging.getLogger(__name__)

DIGEST_JOB = "publishing.webhooks.jobs.send_digest"
REVIEW_PERMISSION = "content.review_content"
SENT_KEPT_DAYS = 30
# Lines a digest lists; the rest are counted. A burst of 5,000 failures made one email of 3 MB
# that mail servers refuse or truncate; the counts and the task list tell the rest.
DIGEST_MAX_LINES = 100


def _reason(payload: dict) -> str | None:
    if payload.get("kind") != "status":
        return None
    return {"completed": NotificationReason.AWAITS_REVIEW, "failed": NotificationReason.FAILED,
            "timed_out": NotificationReason.TIMED_OUT}.get(payload.get("status"))


def reviewers():
    return get_user_model().objects.with_perm(
        REVIEW_PERMISSION, include_superusers=False, backend="django.contrib.auth.backends.ModelBackend",
    ).filter(is_active=True).exclude(email="")


def admins():
    return get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")


@functools.cache
def _recipient_ids_sql(reason: str) -> tuple[str, tuple]:
    """The query of who `reason` concerns, built through the ORM once per process. It runs after
    every finished task, in the worker that finished it, and building the permission query
    (`with_perm`) each time was about 1 ms of the worker's CPU per task. The SQL holds no ids:
    the permission is matched by name in a subquery."""
    concerned = reviewers() if reason == NotificationReason.AWAITS_REVIEW else admins()
    return concerned.values_list("pk", flat=True).query.sql_with_params()


def _recipient_ids(reason: str) -> list[int]:
    sql, params = _recipient_ids_sql(reason)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _lock_recipient(user_id: int) -> None:
    advisory_xact_lock(NOTIFICATION_DIGESTS, user_id)  # one digest per recipient at a time


def _try_lock_recipient(user_id: int) -> bool:
    """The recipient's lock if it is free now (True), without waiting for it: a digest job holds
    it for as long as the mail server takes to accept the email."""
    return advisory_xact_lock_if_free(NOTIFICATION_DIGESTS, user_id)


def notifications_queue(*, payload: dict) -> list[PendingNotification]:
    """Add this state change to the next digest of everyone it concerns (after commit of the change)."""
    reason = _reason(payload)
    if reason is None or not settings.PRESSROOM_NOTIFY_EMAILS:
        return []
    # Who is concerned first: with nobody to tell (no reviewer or admin with an address), the task
    # is not read at all — this runs after every finished task, in the worker that finished it.
    recipients = _recipient_ids(reason)
    if not recipients:
        return []
    task = (GenerationTask.objects.filter(pk=payload["task"])
            .only("id", "title", "topic", "approval_status", "created_by").first())
    if task is None:
        return []
    if reason == NotificationReason.AWAITS_REVIEW:
        if task.approval_status != ApprovalStatus.PENDING:
            return []
        # a reviewer's own task is another reviewer's to decide: it is not their duty to hear of it
        barred = four_eyes_barred(task)  # one read of the current version's author, not one per reviewer
        recipients = [recipient for recipient in recipients if recipient not in barred]
    summary = as_one_line(f"{task}")[:300]
    if payload.get("message") and reason != NotificationReason.AWAITS_REVIEW:
        summary = f"{summary} — {as_one_line(str(payload['message']))}"[:500]
    return _add_lines(recipients, reason=reason, summary=summary, task_id=task.pk)


def _add_lines(recipients: list[int], *, reason: str, summary: str, **target) -> list[PendingNotification]:
    """A line (`reason`, `summary`, about `target`: a task or a subscription) in each recipient's
    next digest, the first of a digest enqueueing its job (after commit)."""
    due = timezone.now() + timedelta(seconds=settings.PRESSROOM_NOTIFY_DIGEST_SECONDS)
    added = []
    for recipient_id in recipients:
        with transaction.atomic():
            recipient_kept, target_kept = _kept_until_commit(recipient_id, **target)
            if not target_kept:  # the task or subscription was deleted meanwhile: its lines would go with it
                return added
            if not recipient_kept:  # the account was deleted since the recipients were read
                continue
            # With the lock taken, a digest being sent (or a line being added) right now cannot be
            # waited for here, in the worker that finished a task: a slow mail server held it up
            # for the whole send. The line then starts a digest job of its own, which sends it if
            # the digest being sent did not (at worst a job that finds nothing left to send).
            waiting = _try_lock_recipient(recipient_id) and PendingNotification.objects.filter(
                recipient_id=recipient_id, sent_at__isnull=True).exists()
            added.append(PendingNotification.objects.create(recipient_id=recipient_id, reason=reason,
                                                            summary=summary, **target))
            if not waiting:  # the first line of a new digest: its job is due at the end of the window
                enqueue_job_at(DIGEST_JOB, recipient_id, at=due, name="send_digest")
    return added


def _kept_until_commit(recipient_id: int, *, task_id: int | None = None,
                       subscription_id: int | None = None) -> tuple[bool, bool]:
    """Whether the recipient and the line's target still exist, each then kept from deletion until
    the caller's transaction ends (`config.locks.rows_kept`). The recipients and the target were
    read before: a line naming one deleted since failed on its foreign key at commit, which ended
    the loop, and the recipients after it lost their lines (in a subscription's switch-off, the
    attempt's record too)."""
    target = (GenerationTask, task_id) if task_id is not None else (WebhookSubscription, subscription_id)
    return rows_kept((get_user_model(), recipient_id), target)


def _receiver_shown(url: str) -> str:
    """A subscription's URL as an email may quote it: its scheme, host and port, with "/…" for
    whatever follows. The path or query of a receiver's URL is often its secret (a chat service's
    hook is `/services/T000/B000/XXXX`), and an email is kept and forwarded where the admin page,
    which the line links to, is not; a user name or password never reaches the text either."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[oops": no URL urllib can read
        return "(a URL that cannot be read)"
    host = parts.netloc.rsplit("@", 1)[-1]
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return as_one_line(f"{parts.scheme}://{host}{rest}")[:200]


def _without_url(text: str, url: str) -> str:
    """`text` with `url`, its path-and-query and its query each put as "…": an error may quote the
    URL (a library's message, a receiver echoing the path it was called at)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    quoted = [url]
    if parts is not None:
        quoted += [parts.path + (f"?{parts.query}" if parts.query else ""), parts.query]
    for secret in sorted(quoted, key=len, reverse=True):
        if len(secret) > 1:
            text = text.replace(secret, "…")
    return text


def notifications_queue_subscription_disabled(*, subscription: WebhookSubscription) -> list[PendingNotification]:
    """Add a line to every admin's next digest: `subscription` was just switched off after failures
    (its `disabled_reason` says why). Called by the one place that switches a subscription off,
    in its transaction, so a rollback adds no line; a subscription paused by hand is never here."""
    if not settings.PRESSROOM_NOTIFY_EMAILS:
        return []
    recipients = _recipient_ids(NotificationReason.WEBHOOK_DISABLED)
    if not recipients:
        return []
    why = as_one_line(_without_url(subscription.disabled_reason, subscription.url))
    summary = f"{as_one_line(subscription.name)[:100]} ({_receiver_shown(subscription.url)}): {why}"
    return _add_lines(recipients, reason=NotificationReason.WEBHOOK_DISABLED, summary=summary[:500],
                      subscription_id=subscription.pk)


_HEADINGS = {
    NotificationReason.AWAITS_REVIEW: "Awaiting your review",
    NotificationReason.FAILED: "Failed",
    NotificationReason.TIMED_OUT: "Timed out",
    NotificationReason.WEBHOOK_DISABLED: "Webhook subscriptions switched off after failures",
}


def _line_link(line: PendingNotification) -> str | None:
    if line.subscription_id is not None:
        return site_link("admin:publishing_webhooksubscription_change", args=[line.subscription_id])
    return site_link("admin:tasks_generationtask_change", args=[line.task_id])


def _more_link(reason: str) -> str | None:
    """Where the lines a digest does not list are found."""
    if reason == NotificationReason.WEBHOOK_DISABLED:
        return f"{site_link('admin:publishing_webhooksubscription_changelist')}?state=disabled"
    return site_link("admin:tasks_generationtask_changelist")


def _digest_text(lines: list[PendingNotification]) -> tuple[str, str]:
    counts = {reason: sum(1 for line in lines if line.reason == reason) for reason in _HEADINGS}
    parts = []
    if counts[NotificationReason.AWAITS_REVIEW]:
        count = counts[NotificationReason.AWAITS_REVIEW]
        parts.append(f"{count} task{'s' if count != 1 else ''} awaiting review")
    broken = counts[NotificationReason.FAILED] + counts[NotificationReason.TIMED_OUT]
    if broken:
        parts.append(f"{broken} task{'s' if broken != 1 else ''} failed or timed out")
    if counts[NotificationReason.WEBHOOK_DISABLED]:
        count = counts[NotificationReason.WEBHOOK_DISABLED]
        parts.append(f"{count} webhook subscription{'s' if count != 1 else ''} switched off")
    subject = "Pressroom: " + ", ".join(parts)
    body = []
    room = DIGEST_MAX_LINES
    for reason, heading in _HEADINGS.items():
        group = [line for line in lines if line.reason == reason]
        if not group:
            continue
        body.append(f"{heading} ({len(group)}):")
        for line in group[:room]:
            body.append(f"- {line.summary} ({line.created_at:%Y-%m-%d %H:%M %Z}) {_line_link(line)}")
        if len(group) > room:
            body.append(f"- and {len(group) - room} more: {_more_link(reason)}")
        room = max(0, room - len(group))
        body.append("")
    body.append("You get these emails because of your role in Pressroom (Reviewers, or admin).")
    return subject, "\n".join(body)


@transaction.atomic
def notification_digest_send(*, recipient_id: int) -> int:
    """Email `recipient_id` one digest of every line waiting for them; returns how many it listed."""
    _lock_recipient(recipient_id)
    lines = list(PendingNotification.objects.select_for_update()
                 .filter(recipient_id=recipient_id, sent_at__isnull=True).order_by("created_at", "id"))
    if not lines:
        return 0
    recipient = get_user_model().objects.filter(pk=recipient_id).first()
    now = timezone.now()
    if recipient is not None and recipient.is_active and recipient.email and settings.PRESSROOM_NOTIFY_EMAILS:
        refusal = header_refusal(recipient.email)
        if refusal:  # it would fail at every send: the lines are dropped, not retried forever
            logger.warning("Notification digest of %d line(s) for user %s not sent: %s",
                           len(lines), recipient_id, refusal)
        else:
            subject, body = _digest_text(lines)
            send_mail(subject, body, None, [recipient.email])
    PendingNotification.objects.filter(pk__in=[line.pk for line in lines]).update(sent_at=now)
    return len(lines)


def notification_digests_recover(*, now=None) -> int:
    """Send the digests whose job was lost: lines waiting for longer than the window plus a few
    minutes. Returns how many digests went out. Lines sent more than SENT_KEPT_DAYS ago are
    deleted here too: once mailed they are only a short record of what was said."""
    now = now or timezone.now()
    PendingNotification.objects.filter(sent_at__lt=now - timedelta(days=SENT_KEPT_DAYS)).delete()
    overdue = now - timedelta(seconds=settings.PRESSROOM_NOTIFY_DIGEST_SECONDS) - timedelta(minutes=5)
    recipients = (PendingNotification.objects.filter(sent_at__isnull=True, created_at__lte=overdue)
                  .values_list("recipient_id", flat=True).distinct()[:20])
    sent = 0
    for recipient_id in list(recipients):
        try:
            sent += bool(notification_digest_send(recipient_id=recipient_id))
        except Exception:  # the mail server refused this one: its lines wait for the next sweep
            logger.exception("Notification digest for user %s not sent; the next sweep tries again.", recipient_id)
    return sent


def notification_history_prune(*, older_than: timedelta) -> int:
    """Delete notification lines sent more than `older_than` ago (unsent ones wait for their
    digest). Returns how many were deleted."""
    deleted, _ = PendingNotification.objects.filter(sent_at__lt=timezone.now() - older_than).delete()
    return deleted
