"""The verbs of outgoing webhooks: record deliveries for an event, attempt one, switch
subscriptions off and on.

A state change becomes one `WebhookDelivery` row per active subscription to its event, each sent
by a django-q2 job (`publishing.webhooks.jobs.deliver_webhook`) after commit. An attempt is
claimed once (a duplicate job finds it taken), and the POST goes through `tasks.url_guard`
again at send time: the URL must still resolve to public addresses only, and the connection goes
to a checked address with the name kept for Host and TLS (`tasks.checked_http`: no second DNS
answer can swap in an internal one). A 307 or 308 redirect is followed, its target checked again,
at most MAX_REDIRECTS times; another 3xx is a failed attempt. A failed attempt schedules
the next one after an exponential backoff, up to PRESSROOM_WEBHOOK_MAX_ATTEMPTS; every failed
attempt counts towards the subscription's failures in a row, and PRESSROOM_WEBHOOK_DISABLE_AFTER
of them switch it off (a success resets the count). A 410 Gone is the receiver saying the URL is
gone for good: that attempt is not retried and the subscription is switched off at once, by the
same path as failures (a ping answered 410 too); that path adds a line to every admin's next
notification digest (`publishing.webhooks.notifications`). Imports flow publishing -> content, tasks.

A retry's due time and an attempt's start are the database server's time, and the retry's job and
the recovery sweep judge them on that clock: django-q2's scheduler fires a one-off schedule by its
own machine's clock, which may be minutes off the machine that scheduled the retry, so the job it
fires sends the attempt only once it is due by the database's clock (else it is scheduled again
for the rest of the wait), and the sweep gives up only attempts started long ago by that clock.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Now
from django.utils import timezone

from config.locks import rows_locked_to_delete
from config.rows import add_to_totals
from publishing.webhooks.events import encode_body, event_id, webhook_body, webhook_event_name
from publishing.webhooks.models import (
    PING_EVENT, DeliveryStatus, PrunedDeliveryTotals, WebhookDelivery, WebhookSubscription,
)
from publishing.webhooks.notifications import notifications_queue_subscription_disabled
from publishing.webhooks.queueing import enqueue_job_at
from publishing.webhooks.signing import SIGNATURE_HEADER, signature_header
from tasks import url_guard
from tasks.checked_http import checked_url, send_to_checked_addresses
from tasks.http_deadline import ExchangeDeadline
from tasks.exceptions import DomainError, NoLongerExists, TransientError
from tasks.services.actors import actor_kept

logger = logging.getLogger(__name__)

DELIVER_JOB = "publishing.webhooks.jobs.deliver_webhook"
USER_AGENT = "Pressroom-Webhooks/1.0"
RESPONSE_READ_MAX_BYTES = 4096  # of a receiver's answer, for the error shown in the admin
MAX_REDIRECTS = 3
GONE = 410  # the receiver says the URL is gone for good: no retry, the subscription is switched off
KEPT_POST_REDIRECTS = (307, 308)  # the redirects that keep the method and the body


# --- recording deliveries --------------------------------------------------------------------
def webhook_deliveries_create(*, payload: dict) -> list[WebhookDelivery]:
    """A pending first attempt per active subscription to this state change's event, each sent by
    a job after commit; none when the change is not a webhook event."""
    name = webhook_event_name(payload)
    if name is None:
        return []
    subscription_ids = _subscribed_ids(name)
    if not subscription_ids:
        return []
    body, identifier, now = webhook_body(name, payload), event_id(payload), timezone.now()
    with transaction.atomic():
        # Read again with the rows locked against deletion until commit: a subscription deleted
        # since the read above made the insert fail on its foreign key at commit, and the event
        # was lost for every other subscriber too.
        subscription_ids = _subscribed_ids(name, lock=True)
        deliveries = WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(subscription_id=subscription_id, event=name, event_id=identifier, payload=body,
                             attempt=1, scheduled_at=now) for subscription_id in subscription_ids],
        )
        for delivery in deliveries:
            enqueue_job_at(DELIVER_JOB, delivery.pk, at=now, name="deliver_webhook")
    return deliveries


@cache
def _subscribed_ids_sql(name: str) -> tuple[str, tuple]:
    """The query of the active subscriptions to event `name`, built through the ORM once per
    process and event. It runs after every state change (twice per task, in the worker that made
    the change), and building it each time cost about 0.25 ms of the worker's CPU."""
    # In the order of their keys, as a deletion locks them (`rows_locked_to_delete`): two transactions
    # that lock the same rows in different orders can deadlock.
    subscribed = WebhookSubscription.objects.filter(active=True, events__contains=[name]).order_by("pk")
    return subscribed.values_list("pk", flat=True).query.sql_with_params()


def _subscribed_ids(name: str, *, lock: bool = False) -> list[int]:
    """The active subscriptions to event `name`; with `lock`, inside a transaction, each kept
    from deletion until it ends (FOR KEY SHARE, which an UPDATE of its fields does not wait for)."""
    sql, params = _subscribed_ids_sql(name)
    if lock:
        sql += " FOR KEY SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


PRUNE_BATCH = 5000  # attempts deleted (and tallied) per transaction


def webhook_history_prune(*, older_than: timedelta) -> int:
    """Delete delivery attempts that finished (sent, failed or cancelled) more than `older_than`
    ago; pending attempts are never touched. Returns how many were deleted."""
    cutoff = timezone.now() - older_than
    old = WebhookDelivery.objects.exclude(status=DeliveryStatus.PENDING).filter(
        Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff),
    )
    deleted = 0
    while True:
        with transaction.atomic():
            # Locked first, so what is tallied is what is deleted (an attempt may still change).
            batch = list(old.order_by("id").select_for_update(skip_locked=True)
                         .values_list("id", "event", "status")[:PRUNE_BATCH])
            if not batch:
                return deleted
            WebhookDelivery.objects.filter(id__in=[row[0] for row in batch]).delete()
            _tally_pruned(Counter((event, status) for _, event, status in batch))
        deleted += len(batch)


def _tally_pruned(counts: Counter) -> None:
    """Add deleted finished attempts, counted by (event, status), to `PrunedDeliveryTotals`."""
    add_to_totals(PrunedDeliveryTotals, ("event", "status"), ("attempts",),
                  [(event, status, count) for (event, status), count in counts.items()])


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`, after attempt `attempt` failed: the base, doubling."""
    base, cap = settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS, settings.PRESSROOM_WEBHOOK_RETRY_MAX_SECONDS
    return float(min(cap, base * 2 ** min(attempt - 1, 30)))


# --- sending ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendResult:
    succeeded: bool
    response_code: int | None = None
    error: str = ""


def _shown(text: str, limit: int = 300) -> str:
    """A receiver's answer made fit for the error column: one line, no NUL (PostgreSQL text
    cannot hold one), cut at `limit`."""
    text = " ".join(text.replace("\x00", " ").split())
    return text if len(text) <= limit else text[:limit] + "…"


def _post(url: str, body: bytes, headers: dict) -> SendResult:
    """POST `body` to `url` through the outbound URL guard, connected to a checked address
    (`tasks.checked_http`); the whole exchange, every address tried and every redirect followed
    included, ends within twice the step timeout.

    A 307 or 308 redirect (which keeps the method and the body) is followed, at most
    MAX_REDIRECTS times, its target passing the guard again, but never from https to http (the
    body would travel in clear); any other 3xx is a failed attempt: following it would turn the
    POST into a GET without the event."""
    timeout = settings.PRESSROOM_WEBHOOK_TIMEOUT_SECONDS
    current = url
    with ExchangeDeadline(2 * timeout) as deadline, \
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for hop in range(MAX_REDIRECTS + 1):
            where = f" (redirected to {url_guard.shown(current)})" if hop else ""
            try:
                target = checked_url(current)
            except ValidationError as error:
                return SendResult(False, error=f"Refused{where}: {error.messages[0]}")
            except TransientError as error:
                return SendResult(False, error=f"{error}{where}")
            if deadline.passed():
                return _too_slow(deadline, timeout)
            try:
                response = send_to_checked_addresses(client, "POST", target, deadline, headers=headers, content=body)
            except httpx.HTTPError as error:
                if deadline.passed():
                    return _too_slow(deadline, timeout)
                what = "Could not connect" if isinstance(error, httpx.ConnectError) else type(error).__name__
                return SendResult(False, error=_shown(f"{what}{where}: {error}"))
            code, location = response.status_code, (response.headers.get("location") or "").strip()
            if code in KEPT_POST_REDIRECTS and location:
                response.close()
                try:
                    following = urljoin(current, location)
                    downgrade = urlsplit(current).scheme == "https" and urlsplit(following).scheme != "https"
                except ValueError:  # "http://[oops/": not a URL urllib can read
                    return SendResult(False, response_code=code,
                                      error=_shown(f"HTTP {code}: the redirect's Location is not a URL: {location}"))
                if downgrade:
                    return SendResult(False, response_code=code,
                                      error=f"HTTP {code}: a redirect from https to http is not followed.")
                current = following
                continue
            answer = _read_answer(response, deadline)
            break
        else:
            return SendResult(False, response_code=code,
                              error=f"HTTP {code}: redirected more than {MAX_REDIRECTS} times.")
    if 200 <= code < 300:
        return SendResult(True, response_code=code)
    if 300 <= code < 400:
        return SendResult(False, response_code=code,
                          error=f"HTTP {code}: only 307 and 308 redirects keep a POST and are followed; "
                                f"give the final URL.")
    text = answer.decode("utf-8", errors="replace")
    return SendResult(False, response_code=code, error=_shown(f"HTTP {code}: {text}" if text else f"HTTP {code}"))


def _read_answer(response: httpx.Response, deadline: ExchangeDeadline) -> bytes:
    """The start of a receiver's answer (RESPONSE_READ_MAX_BYTES), for the error shown in the admin."""
    answer = bytearray()
    try:
        for chunk in response.iter_raw():
            answer += chunk[: RESPONSE_READ_MAX_BYTES - len(answer)]
            if len(answer) >= RESPONSE_READ_MAX_BYTES or deadline.passed():
                break
    except httpx.HTTPError:
        pass  # the status line is what counts; a broken body only shortens the error text
    finally:
        response.close()
    return bytes(answer)


def _too_slow(deadline: ExchangeDeadline, timeout: float) -> SendResult:
    return SendResult(False, error=f"No answer within {deadline.seconds} s: an attempt may take at most "
                                   f"twice PRESSROOM_WEBHOOK_TIMEOUT_SECONDS ({timeout} s).")


def _claim(delivery_id: int, *, when_due: bool = False) -> WebhookDelivery | None:
    """Mark a pending attempt as started (at the database's time, which the sweep judges), once:
    a second job for it gets None; with `when_due`, so does a job early by the database's clock."""
    pending = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, started_at__isnull=True)
    if when_due:
        pending = pending.filter(scheduled_at__lte=Now())
    if not pending.update(started_at=Now()):
        return None
    return WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()  # None: deleted


def _left_to_wait(delivery_id: int) -> timedelta | None:
    """How long a pending attempt not yet due is still to wait, on the database's clock (None: due, or not pending)."""
    return (WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, started_at__isnull=True,
                                           scheduled_at__gt=Now())
            .annotate(left=ExpressionWrapper(F("scheduled_at") - Now(), output_field=DurationField()))
            .values_list("left", flat=True).first())


def webhook_delivery_due_in(*, delivery_id: int) -> float:
    """Seconds until the pending attempt is due by the database's clock (0: due, or not pending):
    what a retry's job waits, whichever machine's clock it runs on."""
    left = _left_to_wait(delivery_id)
    return left.total_seconds() if left is not None else 0.0


def _schedule_again_if_early(delivery_id: int) -> None:
    """A one-off schedule fired this attempt's job before the attempt was due by the database's
    clock (the scheduler's machine runs ahead of the one that scheduled it), or its wait was
    longer than a job waits: enqueue it again, for what is left of its wait, measured on that clock."""
    left = _left_to_wait(delivery_id)
    if left is not None:
        enqueue_job_at(DELIVER_JOB, delivery_id, at=timezone.now() + left, name="deliver_webhook", when_due=True)


def webhook_delivery_attempt(*, delivery_id: int, when_due: bool = False) -> WebhookDelivery | None:
    """Send one attempt and record it; on failure, schedule the next attempt or give up, and count
    the failure against the subscription. Returns the attempt, or None if it was not pending.
    `when_due`: a one-off schedule fired the job, by its scheduler's clock; the attempt is sent only
    once it is due by the database's, else it is scheduled again (and None returned)."""
    delivery = _claim(delivery_id, when_due=when_due)
    if delivery is None:
        if when_due:
            _schedule_again_if_early(delivery_id)
        return None
    subscription = delivery.subscription
    if not subscription.active and delivery.event != PING_EVENT:  # a test may check a receiver before it is on
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.CANCELLED, finished_at=timezone.now(),
            error="Not sent: the subscription is switched off.")
        return WebhookDelivery.objects.filter(pk=delivery.pk).first()
    body = encode_body(delivery.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Pressroom-Event": delivery.event,
        "Pressroom-Event-Id": delivery.event_id,
        "Pressroom-Delivery-Attempt": str(delivery.attempt),
        SIGNATURE_HEADER: signature_header(subscription.secret, timestamp, body),
    }
    started = time.monotonic()
    try:
        result = _post(subscription.url, body, headers)
    except Exception as error:  # an attempt always ends recorded, whatever went wrong
        logger.exception("Webhook delivery %s failed unexpectedly", delivery.pk)
        result = SendResult(False, error=_shown(f"{type(error).__name__}: {error}"))
    duration_ms = int((time.monotonic() - started) * 1000)
    if _record_attempt(delivery, result, duration_ms=duration_ms):
        return delivery
    return WebhookDelivery.objects.filter(pk=delivery.pk).first()  # as the sweep recorded it, or None if deleted


@transaction.atomic
def _record_attempt(delivery: WebhookDelivery, result: SendResult, *, duration_ms: int) -> bool:
    """Record how a started attempt ended, once: the first to record it (the worker that sent it,
    or the sweep that gave it up for lost) decides, and a later report changes nothing (False).
    An attempt whose subscription was deleted meanwhile is gone with it and records nothing."""
    now = timezone.now()
    delivery.status = DeliveryStatus.SUCCEEDED if result.succeeded else DeliveryStatus.FAILED
    delivery.response_code = result.response_code
    delivery.error = result.error[:1000]
    delivery.finished_at = now
    delivery.duration_ms = duration_ms
    # The subscription first, then its attempt, the order a deletion of the subscription takes them
    # in (`webhook_subscriptions_delete`): the other way round, the two deadlocked. Locked with the
    # database's time: a retry is due by the clock its job and the sweep judge it by.
    subscription = (WebhookSubscription.objects.select_for_update().annotate(database_now=Now())
                    .filter(pk=delivery.subscription_id).first())
    recorded = subscription is not None and WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=delivery.status, response_code=delivery.response_code, error=delivery.error,
        finished_at=now, duration_ms=duration_ms)
    if not recorded:
        logger.info("Webhook delivery %s was recorded or deleted meanwhile; its late outcome (%s) is not kept",
                    delivery.pk, delivery.status)
        return False
    if result.response_code == GONE and subscription.disabled_at is None:
        # Before the ping's early return: a receiver that says it is gone is gone, test or not.
        # Switched off, the subscription gets no retry of this attempt, and its pending ones are
        # cancelled unsent when their jobs run, as after failures.
        _disable(subscription, reason=f"HTTP 410 Gone: the receiver says this URL is gone for good, so it was "
                                      f"switched off at once (attempt {delivery.attempt} of {delivery.event}); "
                                      f"the answer: {result.error}"[:500], at=now)
        logger.warning("Webhook subscription %s disabled: its receiver answered 410 Gone", subscription.pk)
    if delivery.event == PING_EVENT:
        return True  # a test: neither retried nor counted for or against the subscription (but see GONE)
    if result.succeeded:
        if subscription.consecutive_failures:
            subscription.consecutive_failures = 0
            subscription.save(update_fields=["consecutive_failures", "updated_at"])
        return True
    subscription.consecutive_failures = F("consecutive_failures") + 1
    subscription.save(update_fields=["consecutive_failures", "updated_at"])
    subscription.refresh_from_db(fields=["consecutive_failures"])
    limit = settings.PRESSROOM_WEBHOOK_DISABLE_AFTER
    if subscription.active and subscription.consecutive_failures >= limit:
        _disable(subscription, reason=f"{subscription.consecutive_failures} failed attempts in a row; "
                                      f"the last: {result.error or 'no answer'}"[:500], at=now)
        logger.warning("Webhook subscription %s disabled after %s failures", subscription.pk,
                       subscription.consecutive_failures)
    if subscription.active and delivery.attempt < settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS:
        wait = timedelta(seconds=retry_delay(delivery.attempt))
        following = WebhookDelivery.objects.create(
            subscription_id=subscription.pk, event=delivery.event, event_id=delivery.event_id,
            payload=delivery.payload, attempt=delivery.attempt + 1, scheduled_at=subscription.database_now + wait,
        )
        enqueue_job_at(DELIVER_JOB, following.pk, at=now + wait, name="deliver_webhook", when_due=True)
    return True


def _disable(subscription: WebhookSubscription, *, reason: str, at) -> None:
    """Switch `subscription` off after failures or a 410 Gone (the one place that does), and add a
    line to every admin's next digest, in the caller's transaction: a rollback does neither. Lines
    that cannot be added are logged and do not undo the switch or the attempt's record: the admin
    list and `/metrics` still show the subscription disabled."""
    subscription.active = False
    subscription.disabled_at = at
    subscription.disabled_reason = reason
    subscription.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
    try:
        with transaction.atomic():
            notifications_queue_subscription_disabled(subscription=subscription)
    except Exception:
        logger.exception("Could not tell the admins that webhook subscription %s was disabled", subscription.pk)


# --- recovering lost attempts --------------------------------------------------------------------
STALE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 20


def webhook_deliveries_recover(*, now=None) -> dict:
    """Finish what lost jobs left: attempts due for STALE_AFTER that no job started (its enqueue
    failed, or the broker lost it) are sent here, a few per run; attempts a worker started and
    never recorded (it died mid-send) are recorded as failed, which schedules the next attempt.
    A job that merely waited in a long queue finds its attempt taken and does nothing. "Ago" is
    by the database's clock, which `started_at` and a retry's `scheduled_at` come from (`now`, in
    a test, stands for it): a sweep on a machine whose clock is ahead would give up attempts still
    being sent (the event sent twice, a failure counted against a receiver that answered)."""
    moment = Now() if now is None else Value(now, output_field=DateTimeField())
    lost = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, started_at__isnull=True,
                                               scheduled_at__lte=moment - STALE_AFTER)
                .order_by("scheduled_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for delivery_id in lost:
        webhook_delivery_attempt(delivery_id=delivery_id)
    started_before = moment - (STALE_AFTER + timedelta(seconds=2 * settings.PRESSROOM_WEBHOOK_TIMEOUT_SECONDS))
    abandoned = 0
    for delivery in (WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, started_at__lte=started_before)
                     .annotate(swept_at=moment).order_by("started_at")[:SWEEP_BATCH]):
        abandoned += _record_attempt(delivery, SendResult(False, error="The worker stopped during this attempt."),
                                     duration_ms=int((delivery.swept_at - delivery.started_at).total_seconds() * 1000))
    return {"sent": len(lost), "abandoned": abandoned}


SUBSCRIPTION_GONE = "This webhook subscription was deleted meanwhile; nothing was done."


def _locked_subscription(pk: int) -> WebhookSubscription:
    """The subscription as it is now, its row locked until the transaction ends. One deleted since
    the caller found it is `NoLongerExists` (404, a message in the admin), not the ORM's
    DoesNotExist, nor an attempt inserted for it that fails on its foreign key at commit (both 500s)."""
    subscription = WebhookSubscription.objects.select_for_update().filter(pk=pk).first()
    if subscription is None:
        raise NoLongerExists(SUBSCRIPTION_GONE)
    return subscription


# --- sending an event again ---------------------------------------------------------------------
class ResendRefused(DomainError):
    """Why an attempt is not sent again; its message is shown to the admin (the API's 409)."""

    status_code = 409
    code = "not_resendable"


@transaction.atomic
def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an event that failed (or was cancelled) once more, as a new attempt due now, after an
    admin fixed the receiver: the newest attempt of the event for its subscription, only while the
    subscription is on. The new attempt carries the same event id and body, and is one try: it
    is numbered past the automatic ones, so a failure schedules no further retry."""
    subscription = _locked_subscription(delivery.subscription_id)
    which = f"Attempt {delivery.attempt} of {delivery.event_id} to {subscription}"
    if not subscription.active:
        raise ResendRefused(f"{which}: the subscription is switched off; switch it on first.")
    newest = WebhookDelivery.objects.filter(subscription=subscription, event_id=delivery.event_id).order_by(
        "-attempt").first()
    if newest.pk != delivery.pk:
        raise ResendRefused(f"{which}: attempt {newest.attempt} came after it.")
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED):
        raise ResendRefused(f"{which}: it is {delivery.get_status_display().lower()}.")
    now = timezone.now()
    again = WebhookDelivery.objects.create(
        subscription=subscription, event=delivery.event, event_id=delivery.event_id, payload=delivery.payload,
        attempt=max(delivery.attempt, settings.PRESSROOM_WEBHOOK_MAX_ATTEMPTS) + 1, scheduled_at=now,
    )
    enqueue_job_at(DELIVER_JOB, again.pk, at=now, name="deliver_webhook")
    return again


# --- subscriptions ----------------------------------------------------------------------------
SUBSCRIPTION_FIELDS = ("name", "url", "events", "secret", "active")


@transaction.atomic
def webhook_subscription_create(*, by, **fields) -> WebhookSubscription:
    """A subscription from checked values (`publishing.webhooks.rules`); without a secret, a
    generated one. `by`'s account deleted since the request read it is `NoLongerExists` (404):
    a subscription sends events to any URL, so a deleted account's request makes none."""
    values = {name: fields[name] for name in SUBSCRIPTION_FIELDS if fields.get(name) is not None}
    actor_kept(by)
    return WebhookSubscription.objects.create(created_by=by, **values)


@transaction.atomic
def webhook_subscription_update(*, subscription: WebhookSubscription, **changes) -> WebhookSubscription:
    """Write the changed fields only: the failure state (count, when and why disabled) is the
    delivery jobs', so a failure recorded meanwhile is not undone. Switching a subscription that
    failures disabled on again forgets its failures, as re-enabling does."""
    subscription = _locked_subscription(subscription.pk)
    fields = [name for name in SUBSCRIPTION_FIELDS if name in changes]
    for name in fields:
        setattr(subscription, name, changes[name])
    if changes.get("active") and subscription.disabled_at is not None:
        subscription.consecutive_failures, subscription.disabled_at, subscription.disabled_reason = 0, None, ""
        fields += ["consecutive_failures", "disabled_at", "disabled_reason"]
    if fields:
        subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


@transaction.atomic
def webhook_subscriptions_delete(*, ids) -> int:
    """Delete the subscriptions `ids` with all their attempts and notification lines; how many of
    them were still there to delete, from the admin and the API alike. Their rows are locked first
    (`config.locks.rows_locked_to_delete`): a transaction recording an event's attempts for one of
    them, or a notification line naming one, keeps the subscription (FOR KEY SHARE) and is waited
    for, and its rows are deleted with the rest. Django's own delete collected the attempts first
    and then waited on the subscription's row; an attempt inserted meanwhile made the delete fail
    on its foreign key at commit, a 500 in the admin and the API."""
    locked = rows_locked_to_delete(WebhookSubscription.objects.filter(pk__in=list(ids)))
    if not locked:
        return 0
    # Their finished attempts stay counted (`pressroom_webhook_deliveries_total` never goes down).
    finished = (WebhookDelivery.objects.filter(subscription_id__in=locked).exclude(status=DeliveryStatus.PENDING)
                .values_list("event", "status").annotate(count=Count("id")).order_by())
    _tally_pruned(Counter({(event, status): count for event, status, count in finished}))
    _, deleted = WebhookSubscription.objects.filter(pk__in=locked).delete()
    return deleted.get(WebhookSubscription._meta.label, 0)


# --- a test delivery ------------------------------------------------------------------------------
@transaction.atomic
def webhook_subscription_ping(*, subscription: WebhookSubscription, by) -> WebhookDelivery:
    """Queue a test delivery (event `ping`) to `subscription`, switched on or not, signed like any
    other: an admin checks that the receiver answers and verifies the signature. One try, not
    counted for or against the subscription; the attempt shows in the deliveries list."""
    subscription = _locked_subscription(subscription.pk)
    now = timezone.now()
    identifier = f"evt_ping_{uuid.uuid4().hex}"
    body = {
        "id": identifier,
        "type": PING_EVENT,
        "created_at": now.isoformat(),
        "message": f"A test delivery sent from Pressroom's admin by {by.get_username()}.",
        "subscription": {"name": subscription.name, "events": list(subscription.events)},
    }
    ping = WebhookDelivery.objects.create(subscription=subscription, event=PING_EVENT, event_id=identifier,
                                          payload=body, attempt=1, scheduled_at=now)
    enqueue_job_at(DELIVER_JOB, ping.pk, at=now, name="deliver_webhook")
    return ping


# --- switching subscriptions on -----------------------------------------------------------------
@transaction.atomic
def webhook_subscription_enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Switch a subscription on again, forgetting its failures (an admin fixed the receiver)."""
    subscription = _locked_subscription(subscription.pk)
    subscription.active = True
    subscription.consecutive_failures = 0
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(update_fields=["active", "consecutive_failures", "disabled_at", "disabled_reason", "updated_at"])
    return subscription
