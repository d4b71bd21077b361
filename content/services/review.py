"""Editorial verbs: approve, reject (optionally asking for a revision), revoke, edit, restore.

Each verb follows `tasks.services.lifecycle.task_cancel`: lock the task row, check permission and
state (`CHECKS`, which `content.selectors.review_actions` also asks, so pages offer only what the
verb allows), change, write the `ApprovalEvent` in the same transaction and emit a `TaskEvent`
(kind `approval`), which is broadcast and signalled after commit. `approval_status` changes only
here and in `publishing.services.posts`, always through the transitions table
(`tasks.transitions.change_approval`). Two reviewers deciding at once: the second waits for the
row lock, then finds the decision made and gets `InvalidTransition`.

Revoking the approval of a published task unpublishes its post: `approval_revoked` is sent inside
the transaction and `publishing` (which content never imports) answers it.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import Signal

from content.exceptions import PermissionDenied
from content.formatting import format_article
from content.models import ApprovalEvent, ContentVersion, Decision, ReasonCode, VersionPhase
from content.pipeline import brief_of, research_from
from content.quality import score_article
from content.selectors import current_version, research_data, reviewable_phases
from content.services.versions import version_create
from tasks.events import emit
from tasks.exceptions import DomainError, InvalidTransition
from tasks.models import ApprovalStatus, EventKind, GenerationTask, Status, TaskType
from tasks.services.actors import actor_kept
from tasks.services.lifecycle import locked_task, task_requeue_for_revision
from tasks.models.task import WORD_COUNT_MAX, WORD_COUNT_MIN
from tasks.transitions import change_approval

REVIEW_PERMISSION = "content.review_content"
EDIT_PERMISSION = "tasks.change_generationtask"
FEEDBACK_MAX_LENGTH = 5000
TITLE_MAX_LENGTH = 300
BODY_MAX_LENGTH = 200_000
# Lines of a person's body. markdown-it reads Markdown line by line (every line of a paragraph is
# tried against each rule that could end it), so an edit costs about 30 µs a line for each of
# the few times the edit path parses it: "y\n" * 99,000 (198 kB, under BODY_MAX_LENGTH) took
# 12-50 s, under the task's row lock. A 200,000-character article of prose has a few thousand
# lines at most; a paragraph may be one long line.
BODY_MAX_LINES = 5_000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks of CommonMark, not str.splitlines()'s
EXCERPT_MAX_LENGTH = 1000

# Sent inside the revoking transaction with `task`, `by` and `event` (the ApprovalEvent).
approval_revoked = Signal()


# --- the rules: each raises a DomainError when `user` may not take the action on `task` now ----
def _check_visible(user, task) -> None:
    if not GenerationTask.objects.visible_to(user).filter(pk=task.pk).exists():
        raise PermissionDenied("You cannot see this task.")


def _check_reviewer(user, task, action: str) -> None:
    _check_visible(user, task)
    if not user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied(f"Only reviewers may {action}; you are not in the Reviewers group.")


def _check_reviewable(task) -> None:
    if task.status != Status.COMPLETED:
        raise InvalidTransition(
            f"Only a completed task can be reviewed; this one is {task.get_status_display().lower()}."
        )
    if current_version(task) is None:
        raise InvalidTransition("This task has no finished version to review.")


def _wrote_a_version(user_id, task) -> bool:
    return ContentVersion.objects.filter(task_id=task.pk, created_by_id=user_id).exists()


def four_eyes_reason(user_id, task) -> str:
    """Why the four-eyes rule (`PRESSROOM_FOUR_EYES`) keeps `user_id` from deciding on `task`, or "".

    Nobody decides on a task they created, nor on a piece they wrote any version of: a reviewer
    who rewrites someone else's piece through the draft edit (or restores a version, which is
    theirs too) is one of its authors now, and stays one when someone else edits it after them (a
    trivial newer edit by another must not hand them the decision on their own text). A version
    the pipeline wrote has no author. Rejecting is refused as approving is: one rule for "may
    decide", which the review queue and the notifications follow too; an author takes their text
    back by restoring or editing again, not by deciding on it.

    `four_eyes_barred` and `without_own_tasks` are the same rule for all users and for a queryset:
    keep the three side by side.
    """
    if not settings.PRESSROOM_FOUR_EYES or user_id is None:
        return ""
    if task.created_by_id == user_id:
        return "you created this task"
    if _wrote_a_version(user_id, task):
        return "you wrote a version of this piece"
    return ""


def four_eyes_barred(task) -> set:
    """The ids of everyone the four-eyes rule keeps from deciding on `task` (`four_eyes_reason`),
    read at once: its creator and everyone who wrote a version of it."""
    if not settings.PRESSROOM_FOUR_EYES:
        return set()
    authors = ContentVersion.objects.filter(task_id=task.pk, created_by__isnull=False).values_list(
        "created_by_id", flat=True)
    return {task.created_by_id, *authors} - {None}


def four_eyes_forbids(user_id, task) -> bool:
    """Whether the four-eyes rule keeps `user_id` from approving or rejecting `task` (`four_eyes_reason`)."""
    return bool(four_eyes_reason(user_id, task))


def _check_four_eyes(user, task, action: str) -> None:
    reason = four_eyes_reason(user.pk, task)
    if reason:
        raise PermissionDenied(f"The four-eyes rule: {reason}, so another reviewer must {action} it.")


def without_own_tasks(user, tasks):
    """The tasks of the queryset `tasks` that the four-eyes rule lets `user` decide on (all when it is off):
    `four_eyes_reason` for a queryset. A task with no creator stays, and so does one whose versions
    the pipeline wrote."""
    if not settings.PRESSROOM_FOUR_EYES:
        return tasks
    return tasks.exclude(created_by_id=user.pk).exclude(
        Exists(ContentVersion.objects.filter(task_id=OuterRef("pk"), created_by_id=user.pk)))


def _check_undecided(task) -> None:
    _check_reviewable(task)
    if task.approval_status != ApprovalStatus.PENDING:
        raise InvalidTransition(
            f"This task is already {task.get_approval_status_display().lower()}; "
            "a new decision needs a new version (edit, restore or revision) or a revoked approval."
        )


def _check_decision(user, task, action: str) -> None:
    _check_reviewer(user, task, action)
    _check_four_eyes(user, task, action)
    _check_undecided(task)


def four_eyes_note(user, task) -> str:
    """Why the task page offers `user` neither Approve nor Reject, when the four-eyes rule alone is why.

    The rule's own refusal, so that the page says what the verbs would; "" when `user` may decide,
    or could not anyway (not a reviewer, or nothing waits for a decision).
    """
    try:
        _check_reviewer(user, task, "approve or reject")
        _check_undecided(task)
    except DomainError:
        return ""
    try:
        _check_four_eyes(user, task, "approve or reject")
    except PermissionDenied as refusal:
        return str(refusal)
    return ""


OUTLINE_NOT_APPROVABLE = ("This version is an outline: write the text (edit it) or run it with a model "
                          "before approving.")


def check_approve(user, task) -> None:
    _check_decision(user, task, "approve")
    version = current_version(task)
    if version.is_outline:
        raise InvalidTransition(OUTLINE_NOT_APPROVABLE)
    report = version.quality_report or {}
    if report.get("leaked"):
        leaks = [leak.get("text", "") for check in report.get("checks", []) if check.get("name") == "leakage"
                 for leak in check.get("details", {}).get("leaks", [])]
        what = "; ".join(f"“{text[:60]}”" for text in leaks[:3]) or "internal text"
        raise InvalidTransition(
            f"This version leaks text that must never be published ({what}): edit it out, then approve."
        )


def check_reject(user, task) -> None:
    _check_decision(user, task, "reject")


def check_revoke_approval(user, task) -> None:
    _check_reviewer(user, task, "revoke an approval")
    if task.approval_status != ApprovalStatus.APPROVED:
        raise InvalidTransition(
            f"Only an approved task can have its approval revoked; this one is "
            f"{task.get_approval_status_display().lower()}."
        )


def _check_editor(user, task, action: str) -> None:
    """An editor of the task (its creator, or anyone who sees every task) on a completed task."""
    _check_visible(user, task)
    if not user.has_perm(EDIT_PERMISSION):
        raise PermissionDenied(f"You may not {action}.")
    if task.status != Status.COMPLETED:
        raise InvalidTransition(
            f"Only on a completed task can you {action}; this one is {task.get_status_display().lower()}."
        )


def check_edit(user, task) -> None:
    _check_editor(user, task, "edit the text")
    if task.task_type != TaskType.BLOG_POST:
        raise InvalidTransition("An image task has no text to edit.")
    if current_version(task) is None:
        raise InvalidTransition("This task has no finished version to edit.")


def check_restore(user, task) -> None:
    _check_editor(user, task, "restore a version")
    if ContentVersion.objects.filter(task_id=task.pk, phase__in=reviewable_phases(task)).count() < 2:
        raise InvalidTransition("This task has no earlier version to restore.")


CHECKS = {
    "approve": check_approve,
    "reject": check_reject,
    "revoke_approval": check_revoke_approval,
    "edit": check_edit,
    "restore": check_restore,
}


# --- helpers ---------------------------------------------------------------------------------
def _clean_text(value, *, field: str, max_length: int, required: bool = False, max_lines: int | None = None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(f"{field} must be text.", fields={field: ["Must be text."]})
    if "\x00" in value:
        raise DomainError(f"{field} contains a NUL character.", fields={field: ["NUL characters are not allowed."]})
    value = value.strip()
    if required and not value:
        raise DomainError(f"{field.capitalize()} is required.", fields={field: ["This field is required."]})
    if len(value) > max_length:
        raise DomainError(
            f"{field.capitalize()} is too long ({len(value):,} characters; at most {max_length:,}).",
            fields={field: [f"At most {max_length:,} characters."]},
        )
    lines = len(_LINE_BREAK.findall(value)) + 1 if max_lines is not None else 0
    if max_lines is not None and lines > max_lines:
        raise DomainError(
            f"{field.capitalize()} has too many lines ({lines:,}; at most {max_lines:,}): "
            "write each paragraph on one line, or join its lines.",
            fields={field: [f"At most {max_lines:,} lines."]},
        )
    return value


def clean_feedback(value, *, required: bool = False) -> str:
    """A decision's feedback or reason, as every decision takes it: text without NUL, stripped,
    at most FEEDBACK_MAX_LENGTH characters (a DomainError naming the field otherwise)."""
    return _clean_text(value, field="feedback", max_length=FEEDBACK_MAX_LENGTH, required=required)


def _record(task, *, by, decision: str, version, message: str, feedback: str = "", reasons=(),
            revision_requested: bool = False, target_words: int | None = None) -> ApprovalEvent:
    # The audit row (and an edit's or restore's version, written before it in this transaction)
    # names `by`, whose account the request read before the transaction: kept until commit, or
    # `NoLongerExists` if a superuser deleted it meanwhile (not a 500 at commit).
    actor_kept(by)
    event = ApprovalEvent.objects.create(
        task=task, version=version, decision=decision, actor=by, feedback=feedback, reasons=list(reasons),
        revision_requested=revision_requested, target_words=target_words,
    )
    emit(task, EventKind.APPROVAL, message=message, data={
        "decision": decision, "version": version.number if version else None,
        "actor": by.get_username() if by else None, "approval_status": task.approval_status,
        "reasons": list(reasons),
    })
    return event


def _set_approval(task: GenerationTask, status: str) -> None:
    if task.approval_status != status:
        change_approval(task, status)
        task.save(update_fields=["approval_status", "updated_at"])


# --- the verbs ---------------------------------------------------------------------------------
def _decided_version(task, seen_version: int | None) -> ContentVersion:
    """The current version, which must be the one the reviewer read (`seen_version`, when given)."""
    version = current_version(task)
    if seen_version is not None and seen_version != version.number:
        raise InvalidTransition(
            f"The piece changed while you were reading it: you read version {seen_version}, the current one is "
            f"version {version.number}. Read it, then decide."
        )
    return version


@transaction.atomic
def task_approve(*, task: GenerationTask, by, feedback: str = "", seen_version: int | None = None) -> ApprovalEvent:
    """Approve the task's current version (the one the reviewer read, when `seen_version` says
    which); it may then be published."""
    feedback = _clean_text(feedback, field="feedback", max_length=FEEDBACK_MAX_LENGTH)
    task = locked_task(task)
    check_approve(by, task)
    version = _decided_version(task, seen_version)
    _set_approval(task, ApprovalStatus.APPROVED)
    return _record(task, by=by, decision=Decision.APPROVED, version=version, feedback=feedback,
                   message=f"Version {version.number} approved by {by}.")


def clean_reasons(reasons) -> list[str]:
    if not isinstance(reasons, (list, tuple)) or not reasons:
        raise DomainError("Give at least one reason for the rejection.",
                          fields={"reasons": [f"Choose one or more of: {', '.join(ReasonCode.values)}."]})
    unknown = [str(reason)[:40] for reason in reasons if reason not in ReasonCode.values]
    if unknown:
        raise DomainError(f"Unknown reason: {', '.join(unknown)}.",
                          fields={"reasons": [f"Choose from: {', '.join(ReasonCode.values)}."]})
    return list(dict.fromkeys(reasons))


@transaction.atomic
def task_reject(*, task: GenerationTask, by, feedback: str, reasons, revise: bool = False,
                target_words: int | None = None, seen_version: int | None = None) -> ApprovalEvent:
    """Reject the current version with feedback and reasons; with `revise`, the task runs again
    (draft → qa → format) with the feedback as the writer's instructions, and the new version
    awaits review."""
    feedback = _clean_text(feedback, field="feedback", max_length=FEEDBACK_MAX_LENGTH, required=True)
    reasons = clean_reasons(reasons)
    if target_words is not None:
        if isinstance(target_words, bool) or not isinstance(target_words, int) or not (
                WORD_COUNT_MIN <= target_words <= WORD_COUNT_MAX):
            raise DomainError(f"Target words must be a whole number from {WORD_COUNT_MIN} to {WORD_COUNT_MAX:,}.",
                              fields={"target_words": [f"{WORD_COUNT_MIN}–{WORD_COUNT_MAX:,}."]})
        if not revise:
            raise DomainError("Target words apply only to a revision request.",
                              fields={"target_words": ["Request a revision to set a target."]})
    task = locked_task(task)
    check_reject(by, task)
    if revise and task.task_type != TaskType.BLOG_POST:
        raise InvalidTransition("Only a blog post can be revised by the writer; reject it without a revision.")
    version = _decided_version(task, seen_version)
    _set_approval(task, ApprovalStatus.REJECTED)
    what = "rejected, revision requested" if revise else "rejected"
    event = _record(task, by=by, decision=Decision.REJECTED, version=version, feedback=feedback, reasons=reasons,
                    revision_requested=revise, target_words=target_words,
                    message=f"Version {version.number} {what} by {by}: {', '.join(reasons)}.")
    if revise:
        # The next version needs a decision of its own: pending again, while the writer works.
        _set_approval(task, ApprovalStatus.PENDING)
        task_requeue_for_revision(task=task, by=by)
    return event


@transaction.atomic
def task_revoke_approval(*, task: GenerationTask, by, feedback: str = "") -> ApprovalEvent:
    """Withdraw an approval; a published (or scheduled) post of the task is unpublished."""
    feedback = _clean_text(feedback, field="feedback", max_length=FEEDBACK_MAX_LENGTH)
    task = locked_task(task)
    check_revoke_approval(by, task)
    version = current_version(task)
    _set_approval(task, ApprovalStatus.PENDING)
    event = _record(task, by=by, decision=Decision.APPROVAL_REVOKED, version=version, feedback=feedback,
                    message=f"Approval of version {version.number} revoked by {by}.")
    approval_revoked.send(sender=GenerationTask, task=task, by=by, event=event)
    return event


def _without_title(markdown: str) -> str:
    lines = markdown.strip().splitlines()
    return "\n".join(lines[1:]).strip() if lines and lines[0].startswith("# ") else markdown.strip()


def _version_from_text(task, *, by, phase: str, title: str, body: str, excerpt: str, base: ContentVersion):
    """A whole new version from a person's text: formatted as the format stage does, scored by
    the QA rubric (never rewritten), keeping the base version's featured image."""
    research = research_from(research_data(task))
    # One line, as a heading is: str.splitlines() also breaks at \v, \f, \x1c-\x1e, \x85, U+2028
    # and U+2029, and the title was cut there, the rest moving into the body at every edit.
    title = " ".join(title.splitlines()).strip()
    formatted = format_article(f"# {title}\n\n{_without_title(body)}", fallback_title=title,
                               sources=list(research.sources))
    report = score_article(formatted.body, brief_of(task), research)
    cited = {entry["number"] for entry in (base.sources or [])} | {
        s.number for s in research.sources if f"[{s.number}]" in formatted.body}
    sources = [s for s in (research_data(task).get("sources") or []) if s["number"] in cited
               and f"[{s['number']}]" in formatted.body]
    return version_create(
        task=task, phase=phase, title=formatted.title, body=formatted.body, body_html=formatted.body_html,
        excerpt=excerpt or formatted.excerpt, excerpt_by_person=bool(excerpt), seo=formatted.seo(), sources=sources,
        copy_image_from=base, created_by=by,
        quality_score=report.score, quality_report=report.as_dict() | {"scored": "as edited; not rewritten"},
    )


@transaction.atomic
def task_edit_draft(*, task: GenerationTask, by, title: str | None = None, body: str | None = None,
                    excerpt: str | None = None, base_version: int | None = None) -> ContentVersion:
    """A person's change of title, body or excerpt becomes a new version (phase `edit`), scored by
    the QA rubric without rewriting; the approval returns to pending."""
    task = locked_task(task)
    check_edit(by, task)
    base = current_version(task)
    if base_version is not None and base_version != base.number:
        raise InvalidTransition(
            f"This piece changed while you were editing: you started from version {base_version}, "
            f"the current one is version {base.number}. Reload and edit again."
        )
    new_title = _clean_text(base.title if title is None else title, field="title", max_length=TITLE_MAX_LENGTH,
                            required=True)
    # A person's body only: the current version's, kept as it is, is the pipeline's or was let in.
    new_body = _clean_text(base.body if body is None else body, field="body", max_length=BODY_MAX_LENGTH,
                           required=True, max_lines=None if body is None else BODY_MAX_LINES)
    new_excerpt = _clean_text(base.excerpt if excerpt is None else excerpt, field="excerpt",
                              max_length=EXCERPT_MAX_LENGTH)
    if (new_title, _without_title(new_body), new_excerpt) == (base.title, _without_title(base.body), base.excerpt):
        raise DomainError("Nothing changed: the title, body and excerpt are those of the current version.")
    # A person's excerpt stays until a person changes or clears it; an automatic one follows the body.
    if excerpt is not None and new_excerpt != base.excerpt:
        keep_excerpt = new_excerpt
    else:
        keep_excerpt = base.excerpt if base.excerpt_by_person else ""
    version = _version_from_text(task, by=by, phase=VersionPhase.EDIT, title=new_title, body=new_body,
                                 excerpt=keep_excerpt, base=base)
    _set_approval(task, ApprovalStatus.PENDING)
    _record(task, by=by, decision=Decision.EDITED, version=version,
            message=f"Version {version.number} written by {by} (edit of version {base.number}); "
                    f"quality score {version.quality_score}.")
    return version


@transaction.atomic
def task_restore_version(*, task: GenerationTask, by, number) -> ContentVersion:
    """A new version copying version `number` (phase `restore`); the approval returns to pending."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise DomainError("The version number must be a positive whole number.", fields={"number": ["Invalid."]})
    task = locked_task(task)
    check_restore(by, task)
    source = ContentVersion.objects.filter(task_id=task.pk, number=number).first()
    if source is None:
        raise DomainError(f"This task has no version {number}.", fields={"number": ["No such version."]})
    if source.phase not in reviewable_phases(task):
        raise InvalidTransition(
            f"Version {number} is a {source.get_phase_display().lower()} step, not a whole piece; "
            "restore a formatted, edited or restored version."
        )
    current = current_version(task)
    if current is not None and current.number == number:
        raise InvalidTransition(f"Version {number} is already the current version.")
    version = version_create(
        task=task, phase=VersionPhase.RESTORE, title=source.title, body=source.body, body_html=source.body_html,
        excerpt=source.excerpt, excerpt_by_person=source.excerpt_by_person, seo=source.seo, sources=source.sources,
        copy_image_from=source, created_by=by, quality_score=source.quality_score,
        quality_report=source.quality_report, model_key=source.model_key, is_outline=source.is_outline,
    )
    _set_approval(task, ApprovalStatus.PENDING)
    _record(task, by=by, decision=Decision.RESTORED, version=version,
            message=f"Version {number} restored by {by} as version {version.number}.")
    return version
