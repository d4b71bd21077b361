"""Lifecycle verbs of a generation task: create, update the brief, cancel, retry, delete.

Each verb locks the task row, checks that the task is in a state that allows it (raising
`InvalidTransition`, which the API answers with 409 and the admin shows as a message), changes
it, records a `TaskEvent` and wakes workers after commit when there is new work.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.module_loading import import_string

from config.locks import rows_kept, rows_kept_with
from config.rows import insert_row, one_row
from tasks.events import append_events, draft_event, emit
from tasks.exceptions import DomainError, InvalidTransition, NoLongerExists
from tasks.metrics import count_as_removed
from tasks.models import FINISHED_STATUSES, EventKind, GenerationTask, ModelCatalogEntry, Phase, Status
from tasks.selectors import model_unavailable_reason
from tasks.services.actors import ACCOUNT_GONE
from tasks.services.budgets import BudgetExceeded, budget_check, user_limit_sql
from tasks.services.queue import wake_workers
from tasks.services.requeue import requeue
from tasks.validators import validate_public_http_url
from tasks.transitions import change_status

EDITABLE_WHILE_QUEUED = {
    "title", "topic", "word_count", "word_count_tolerance", "strict_mode", "style", "tone", "target_audience",
    "primary_keyword", "category", "tags", "model", "priority", "metadata",
}
RETRYABLE_STATUSES = (Status.FAILED, Status.TIMED_OUT, Status.CANCELLED)
RESEARCH_NOTES_MAX = 20_000  # characters of pasted notes (`metadata["research"]["text"]`)
# Pages the research stage fetches for one brief (`metadata["research"]["urls"]`): each is an
# outbound request, with retries, made on the editor's behalf.
SOURCE_URLS_MAX = 10
# What the form and the API say of the notes: the writers' prompts and the offline writer keep them
# private (used, never cited, listed or named), unlike the source URLs' pages.
RESEARCH_NOTES_HELP = ("Notes or excerpts for the research stage. The writer uses what they say but keeps them "
                       "private: never cited, listed or named.")


class ModelUnavailable(DomainError):
    """The catalog model a task would run on cannot run here (`model_unavailable_reason`): disabled
    since, or its key missing. A 400 on `model`, as a brief naming a disabled model is."""

    code = "invalid"


def check_model_runs(model: ModelCatalogEntry) -> None:
    reason = model_unavailable_reason(model)
    if reason:
        message = f"{model.display_name} cannot run here: {reason}. Choose another model."
        raise ModelUnavailable(message, fields={"model": [message]})


def _model_gone(model: ModelCatalogEntry) -> ModelUnavailable:
    """A catalog entry the request found, removed since (a superuser may delete one no task names
    yet): refused as naming it a moment later would be, a 400 on `model`."""
    message = f"{model.display_name} was removed from the catalog meanwhile. Choose another model."
    return ModelUnavailable(message, fields={"model": [message]})


def check_model_kept(model: ModelCatalogEntry) -> None:
    """`model`, read before this transaction, still in the catalog and kept there until it ends
    (`config.locks.rows_kept`): a task naming an entry deleted meanwhile failed on its foreign key
    at commit (a 500)."""
    if not rows_kept((ModelCatalogEntry, model.pk))[0]:
        raise _model_gone(model)


class IdempotencyConflict(DomainError):
    """The same Idempotency-Key was sent earlier with a different request body."""

    status_code = 422
    code = "idempotency_key_reused"


def brief_fingerprint(brief: dict) -> str:
    """A stable digest of a brief, to tell a true retry from a reused idempotency key."""
    canonical = {key: (value.key if isinstance(value, ModelCatalogEntry) else value) for key, value in brief.items()}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def default_model() -> ModelCatalogEntry:
    # Every creation without a model asks: by SQL written once, not a query built per request.
    return one_row(ModelCatalogEntry, '"is_default"')


def estimate_cost(brief: dict):
    """The brief's expected cost, from the configured estimator (the content pipeline's)."""
    estimator = import_string(settings.PRESSROOM_COST_ESTIMATOR)
    return estimator(task_type=brief.get("task_type", "blog_post"), brief=brief)


def locked_task(task: GenerationTask) -> GenerationTask:
    """`task` as it is now, its row locked until the transaction ends: every verb of every app
    changes a task through this. A task deleted since the caller found it is `NoLongerExists` (404),
    not the ORM's DoesNotExist (a 500 when a delete raced an approval, a cancel or an edit).

    It comes with `database_now`, the database server's time, read in the same statement: what a
    verb makes due "now" (a retry, a revision, a publication) is now on the clock that judges it
    (the claim, the blog), not on this web process's, whose clock may be ahead."""
    try:
        return GenerationTask.objects.select_for_update().annotate(database_now=Now()).get(pk=task.pk)
    except GenerationTask.DoesNotExist:
        raise NoLongerExists("This task was deleted meanwhile.") from None


def with_research(metadata: dict | None, *, research_text: str | None = None,
                  source_urls: list[str] | None = None) -> dict:
    """`metadata` with pasted notes and source URLs in `metadata["research"]`, where the research
    stage reads them ({"text": ..., "urls": [...]}); None leaves that part as it is.

    Every URL the research stage would fetch, given here or already in `metadata`, must be a public
    http(s) address (`DomainError` naming the first refused one otherwise), at most
    `SOURCE_URLS_MAX` of them, and the notes, given
    here or already in `metadata`, text of at most `RESEARCH_NOTES_MAX` characters: so the admin
    forms, the API and any other caller of `task_create` or `task_update` map and check them alike.
    """
    if metadata is not None and not isinstance(metadata, dict):
        raise DomainError("metadata must be a JSON object.")
    metadata = dict(metadata or {})
    if research_text is None and source_urls is None and "research" not in metadata:
        return metadata
    research = metadata.get("research") or {}
    if not isinstance(research, dict):
        raise DomainError('metadata["research"] must be an object with `text` and `urls`.')
    research = dict(research)
    if research_text is not None:
        research["text"] = research_text
    text = research.get("text")
    if text is not None and not isinstance(text, str):
        raise DomainError('metadata["research"]["text"] must be text.')
    if text is not None and len(text) > RESEARCH_NOTES_MAX:
        raise DomainError(f"Ensure research notes have no more than {RESEARCH_NOTES_MAX} characters "
                          f"(they have {len(text)}).")
    if source_urls is not None:
        research["urls"] = list(source_urls)
    if "urls" in research:
        if not isinstance(research["urls"], list):
            raise DomainError('metadata["research"]["urls"] must be a list of URLs.')
        if len(research["urls"]) > SOURCE_URLS_MAX:
            raise DomainError(f"Give at most {SOURCE_URLS_MAX} source URLs (there are {len(research['urls'])}).")
        try:
            research["urls"] = [validate_public_http_url(url) for url in research["urls"]]
        except ValidationError as error:
            raise DomainError(" ".join(error.messages)) from None
    metadata["research"] = research
    return metadata


def task_create(
    *, created_by, brief: dict, idempotency_key: str = "", research_text: str | None = None,
    source_urls: list[str] | None = None,
) -> tuple[GenerationTask, bool]:
    """Queue a new task from a validated brief. Returns (task, created).

    `research_text` and `source_urls` (pasted notes, pages to cite) travel to the research stage
    in `metadata["research"]` (see `with_research`). With an `idempotency_key`, a repeat of the
    same request by the same user returns the task the first request created (created=False)
    instead of queueing a second one. A brief whose estimate would take the site's or the
    creator's monthly budget past its limit is refused (`budgets.BudgetExceeded`, 409); a replay
    creates nothing, so it is not checked.
    """
    brief = dict(brief)
    if research_text is not None or source_urls is not None or "research" in (brief.get("metadata") or {}):
        brief["metadata"] = with_research(brief.get("metadata"), research_text=research_text, source_urls=source_urls)
    brief.setdefault("model", None)
    if brief["model"] is None:
        brief["model"] = default_model()
    fingerprint = brief_fingerprint(brief) if idempotency_key else ""
    brief.setdefault("estimated_cost", estimate_cost(brief))
    if idempotency_key:
        existing = _replay(created_by, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            personal_limit = _kept_for_creation(brief["model"], created_by)
            budget_check(user=created_by, estimate=brief["estimated_cost"] or 0, personal_limit=personal_limit)
            # The row is inserted with its first event's sequence number taken, which spares
            # `emit`'s UPDATE to reserve it: no one else can write events of a task not yet committed.
            # It is due from the INSERT's time on the database's clock (`available_at`'s default).
            task = insert_row(GenerationTask(
                **brief, created_by=created_by, idempotency_key=idempotency_key, idempotency_fingerprint=fingerprint,
                event_sequence=1,
            ))
            created = draft_event(task, EventKind.CREATED, message="Task queued.", data={"priority": task.priority})
            append_events(task, [created], last_sequence=1)
            wake_workers(1)
    except (IntegrityError, BudgetExceeded):
        if not idempotency_key:
            raise
        # A concurrent twin won the race: its task now fills the key, and may fill the budget.
        existing = _replay(created_by, idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, False
    return task, True


def _kept_for_creation(model: ModelCatalogEntry, created_by):
    """The catalog model and the creator's account, read before the transaction, checked and kept
    until it ends (`config.locks.rows_kept`, as `check_model_kept` and `actors.actor_kept` do), in
    the statement that reads the creator's personal budget limit, which this returns (every
    creation asks for it; one round trip, not two). An account deleted meanwhile is
    `NoLongerExists` (a 404), not a task queued (and spending) for no one."""
    if created_by is None:
        model_kept, = rows_kept((ModelCatalogEntry, model.pk))
        creator_kept, limit = True, None
    else:
        (model_kept, creator_kept), limit = rows_kept_with(
            user_limit_sql(), [created_by.pk], (ModelCatalogEntry, model.pk), (get_user_model(), created_by.pk))
    if not creator_kept:
        raise NoLongerExists(ACCOUNT_GONE)
    if not model_kept:
        raise _model_gone(model)
    return limit


def _replay(created_by, idempotency_key: str, fingerprint: str) -> GenerationTask | None:
    existing = GenerationTask.objects.filter(created_by=created_by, idempotency_key=idempotency_key).first()
    if existing is not None and existing.idempotency_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request; use a new key for a new task.",
        )
    return existing


class StaleChange(InvalidTransition):
    """The change was made on a copy of the task older than the task is now."""

    code = "stale"


@transaction.atomic
def task_update(*, task: GenerationTask, by, changes: dict, seen_sequence: int | None = None) -> GenerationTask:
    """Change the title, priority or brief of a task that no worker has claimed yet.

    `seen_sequence` is the task's event sequence when the caller read it (a form's hidden field):
    if anything happened to the task since, the change was made against an outdated page and is
    refused (`StaleChange`), even when it changes nothing. A change that raises the estimate (a
    longer piece, a dearer model) is checked against the monthly budgets for the rise
    (`budgets.BudgetExceeded`, 409), so a small brief cannot be grown past them once queued.
    """
    unknown = set(changes) - EDITABLE_WHILE_QUEUED
    if unknown:
        raise DomainError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    task = locked_task(task)
    if seen_sequence is not None and task.event_sequence != seen_sequence:
        raise StaleChange(
            f"This task changed while the form was open (it is {task.get_status_display().lower()} now): "
            "nothing was saved. Check the page as it is now and make the change again if it still applies."
        )
    if not changes:
        return task
    if "metadata" in changes:
        changes = {**changes, "metadata": with_research(changes["metadata"])}
    if task.status != Status.QUEUED:
        raise InvalidTransition(
            f"Only a queued task can be changed; this one is {task.get_status_display().lower()}."
        )
    changed = [field for field, value in changes.items() if getattr(task, field) != value]
    for field in changed:
        setattr(task, field, changes[field])
    if changed:
        if "model" in changed:
            check_model_kept(task.model)
        if {"word_count", "model", "task_type"} & set(changed):
            previous = task.estimated_cost or 0
            task.estimated_cost = estimate_cost({"task_type": task.task_type, "word_count": task.word_count,
                                                 "model": task.model})
            changed.append("estimated_cost")
            # The month already counts the queued task at its old estimate: only the rise is new spend.
            budget_check(user=task.created_by, estimate=max(task.estimated_cost - previous, 0))
        task.full_clean(exclude=["created_by"])
        task.save(update_fields=[*changed, "updated_at"])
        emit(task, EventKind.LOG, message=f"Brief changed by {by}: {', '.join(changed)}.", data={"changed": changed})
    return task


@transaction.atomic
def task_cancel(*, task: GenerationTask, by) -> GenerationTask:
    """Cancel a queued task at once, or ask the worker of a running task to stop."""
    task = locked_task(task)
    now = timezone.now()
    if task.status == Status.QUEUED:
        change_status(task, Status.CANCELLED)
        task.finished_at = now
        task.cancel_requested_at = now
        task.save(update_fields=["status", "finished_at", "cancel_requested_at", "updated_at"])
        emit(task, EventKind.STATUS, message=f"Cancelled by {by} before it started.")
    elif task.status == Status.RUNNING:
        if task.cancel_requested_at is None:
            task.cancel_requested_at = now
            task.save(update_fields=["cancel_requested_at", "updated_at"])
            emit(task, EventKind.LOG, message=f"Cancellation requested by {by}; stopping.")
    else:
        raise InvalidTransition(
            f"This task is already {task.get_status_display().lower()}; only queued or running tasks can be cancelled."
        )
    return task


@transaction.atomic
def task_retry(*, task: GenerationTask, by, model: ModelCatalogEntry | None = None) -> GenerationTask:
    """Queue a failed, timed-out or cancelled task again; it resumes after its last finished stage.

    It gets a fresh budget of attempts (`PRESSROOM_MAX_ATTEMPTS` more runs); `attempts` keeps
    counting every run the task ever had. `model` runs the retry on another catalog model (the
    one that failed may lack its key). The model the retry would run on, its own or `model`, must
    be able to run here (`check_model_runs`): a model disabled in the catalog since the task was
    created is refused as a new brief naming it would be, not queued to fail. A retry spends
    again, so it is checked against this month's budgets of the task's creator and the site, as
    if it could cost its whole estimate once more on top of what it spent; it then counts in this
    month (`budgets.BudgetExceeded`, 409).
    """
    task = locked_task(task)
    if task.status not in RETRYABLE_STATUSES:
        raise InvalidTransition(
            f"Only failed, timed-out or cancelled tasks can be retried; this one is {task.get_status_display().lower()}."
        )
    check_model_runs(model if model is not None else task.model)
    if model is not None and model.pk != task.model_id:
        check_model_kept(model)
        previous = task.model.key
        task.model = model
        task.estimated_cost = estimate_cost({"task_type": task.task_type, "word_count": task.word_count,
                                             "model": model})
        emit(task, EventKind.LOG, message=f"Model changed by {by} for the retry: {previous} → {model.key}.",
             data={"changed": ["model"], "model": model.key})
    budget_check(user=task.created_by, estimate=task.estimated_cost or 0, retrying=task)
    _queue_again(task)
    emit(task, EventKind.STATUS, message=f"Requeued by {by}; it resumes after its last finished stage.")
    wake_workers(1)
    return task


def _queue_again(task: GenerationTask) -> None:
    """Put a finished task back in the queue, due now, with a fresh budget of attempts, and save it.

    `task` is `locked_task`'s: due now on the database's clock (`database_now`), which the claim
    judges it by. The monthly budgets count it from now on in this month, at what it spent so far
    plus its estimate."""
    now = task.database_now
    count_as_removed(task, deleted=False)  # its outcome stays counted (`pressroom_tasks_finished_total`)
    requeue(task, available_at=now)
    task.queued_at = now
    task.cost_at_queueing = task.actual_cost
    task.phase = Phase.NONE
    task.error = ""
    task.cancel_requested_at = None
    task.finished_at = None
    task.max_attempts = task.attempts + settings.PRESSROOM_MAX_ATTEMPTS
    task.save()


def task_requeue_for_revision(*, task: GenerationTask, by) -> GenerationTask:
    """Run a completed task again for a reviewer's revision request: a new revision round.

    The caller (the review service) holds the row lock and records the request; the stages a
    revision re-runs (`Stage.on_revision`) get new checkpoints in the new round, the others keep
    theirs, so research and the featured image are not redone. Not checked against the monthly
    budgets: it is a reviewer's decision (reviewers may raise budgets), and its cost still counts.
    """
    task.revision += 1
    task.progress = 0
    _queue_again(task)
    emit(task, EventKind.STATUS, message=f"Revision {task.revision} requested by {by}; the draft is written again.",
         data={"revision": task.revision})
    wake_workers(1)
    return task


KEPT_FOR_THE_RECORD = "has an editorial audit trail or a post made from it, which must be kept"


def tasks_kept_for_the_record(tasks):
    """Of the queryset `tasks`, those the database keeps: rows of other apps protect them (their
    approval events, their post: `on_delete=PROTECT` or `RESTRICT`), so `task_delete` refuses them."""
    keeping = [relation.name for relation in GenerationTask._meta.related_objects
               if relation.on_delete in (models.PROTECT, models.RESTRICT)]
    kept = Q()
    for name in keeping:
        kept |= Q(**{f"{name}__isnull": False})
    return tasks.filter(kept).distinct() if keeping else tasks.none()


@transaction.atomic
def task_delete(*, task: GenerationTask, by) -> None:
    """Delete a queued or finished task with its events and versions (never a running one)."""
    task = locked_task(task)
    if task.status == Status.RUNNING:
        raise InvalidTransition("A running task cannot be deleted; cancel it first.")
    if task.status not in (Status.QUEUED, *FINISHED_STATUSES):
        raise InvalidTransition(f"A {task.status} task cannot be deleted.")
    try:
        with transaction.atomic():
            count_as_removed(task, deleted=True)  # its outcome, tokens and cost stay counted
            task.delete()
    except (ProtectedError, RestrictedError):
        raise InvalidTransition(f"This task {KEPT_FOR_THE_RECORD}; it cannot be deleted.") from None
