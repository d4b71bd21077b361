"""Reads of the editorial workflow: the version under review, what a user may do now, diffs.

`review_actions` asks the same rules the review verbs enforce (`content.services.review`), so a
page never offers a button whose action the service would refuse; `awaiting_review`, the queue the
dashboard and the task list show, leaves out by the same four-eyes rule what a reviewer may not decide.
"""

from __future__ import annotations

import difflib

from django.db.models import OuterRef, Q

from content.models import ApprovalEvent, ContentVersion, Decision, VersionPhase
from tasks.exceptions import DomainError
from tasks.models import GenerationTask, StageCheckpoint, TaskType

# The phases of a version that is the piece as a whole (what a reviewer judges and a post carries).
ARTICLE_PHASES = (VersionPhase.FORMAT, VersionPhase.EDIT, VersionPhase.RESTORE)
IMAGE_PHASES = (VersionPhase.IMAGE, VersionPhase.RESTORE)


def reviewable_phases(task) -> tuple[str, ...]:
    return IMAGE_PHASES if task.task_type == TaskType.IMAGE_GENERATION else ARTICLE_PHASES


def current_version(task) -> ContentVersion | None:
    """The newest whole version of the piece: the one under review, approved or published next."""
    return (
        ContentVersion.objects.filter(task_id=task.pk, phase__in=reviewable_phases(task)).order_by("-number").first()
    )


def current_versions_first():
    """`current_version` for each task of a queryset: the whole versions of the outer task
    (`OuterRef("pk")`), the current one first, for a `Subquery(...[:1])`."""
    is_image = Q(task__task_type=TaskType.IMAGE_GENERATION)
    return (ContentVersion.objects.filter(task_id=OuterRef("pk"))
            .filter((is_image & Q(phase__in=IMAGE_PHASES)) | (~is_image & Q(phase__in=ARTICLE_PHASES)))
            .order_by("-number"))


def approved_version(task) -> ContentVersion | None:
    """The version the standing approval is about (None unless the task is approved)."""
    if task.approval_status != "approved":
        return None
    event = (
        ApprovalEvent.objects.filter(task_id=task.pk, decision=Decision.APPROVED)
        .select_related("version").order_by("-created_at").first()
    )
    return event.version if event else None


def revision_request(task) -> ApprovalEvent | None:
    """The reviewer's rejection that started the task's current revision round, if any."""
    if not task.revision:
        return None
    return (
        ApprovalEvent.objects.filter(task_id=task.pk, decision=Decision.REJECTED, revision_requested=True)
        .select_related("version").order_by("-created_at").first()
    )


def research_data(task) -> dict:
    """What the research stage stored (notes and numbered sources), or an empty dict."""
    checkpoint = StageCheckpoint.objects.filter(task_id=task.pk, stage="research").order_by("-revision").first()
    return checkpoint.data if checkpoint else {}


def version_to_compare(task, versions: list[ContentVersion], current: ContentVersion) -> ContentVersion | None:
    """The version `current` is best compared with, among `versions` (the task's, by number): the
    newest earlier one a reviewer rejected, whose feedback the newer text should answer; else the
    newest earlier one whose text differs (the stages after a draft often change nothing, and "0
    lines differ" told the reviewer nothing); else the one before it; None when it is the first."""
    earlier = [v for v in versions if v.number < current.number]
    if not earlier:
        return None
    rejected = set(ApprovalEvent.objects.filter(task_id=task.pk, decision=Decision.REJECTED, version__isnull=False)
                   .values_list("version_id", flat=True))
    for version in reversed(earlier):
        if version.pk in rejected:
            return version
    for version in reversed(earlier):
        if (version.title, version.body) != (current.title, current.body):
            return version
    return earlier[-1]


def audit_trail(task):
    """The task's editorial decisions, oldest first (two of one instant in the order they were
    written: the API pages through them, and a page must not repeat or skip a row)."""
    return ApprovalEvent.objects.filter(task_id=task.pk).select_related("actor", "version").order_by("created_at", "pk")


REVIEW_ACTIONS = ("approve", "reject", "revoke_approval", "edit", "restore")


def review_actions(user, task) -> list[str]:
    """The review verbs `user` may take on `task` now, in display order."""
    from content.services import review  # the verbs own the rules; this only asks them

    allowed = []
    for action in REVIEW_ACTIONS:
        try:
            review.CHECKS[action](user, task)
        except DomainError:
            continue
        allowed.append(action)
    return allowed


def awaiting_review(user, tasks=None):
    """Completed tasks whose current version waits for a decision, among `tasks` (default: those `user` sees).

    For a reviewer these are the tasks they may decide: under the four-eyes rule, not the ones they
    created, which another reviewer decides. An editor, who decides none, sees their own waiting.
    Unordered: the dashboard and the task list order it themselves.
    """
    from content.services import review  # the verbs own the rules; this only asks them

    tasks = GenerationTask.objects.visible_to(user) if tasks is None else tasks
    tasks = tasks.awaiting_decision()
    return review.without_own_tasks(user, tasks) if user.has_perm(review.REVIEW_PERMISSION) else tasks


# Matching lines costs up to the product of the two lengths when lines repeat: two versions of
# 20,000 lines of "x" took 30 s. Up to DIFF_EXACT_LINES a side, every line is matched as it is;
# beyond, difflib's heuristic leaves out lines that fill more than 1 % of the text as anchors; and
# past DIFF_MAX_LINES a side the rest is shown unmatched, so no diff takes more than about a second.
DIFF_EXACT_LINES = 2_000
DIFF_MAX_LINES = 10_000


def version_diff(a: ContentVersion, b: ContentVersion) -> list[dict]:
    """Side-by-side rows comparing the Markdown of two versions, line by line."""
    left = [f"# {a.title}", ""] + a.body.splitlines() if not a.body.startswith("# ") else a.body.splitlines()
    right = [f"# {b.title}", ""] + b.body.splitlines() if not b.body.startswith("# ") else b.body.splitlines()
    rows = []
    exact = max(len(left), len(right)) <= DIFF_EXACT_LINES
    matcher = difflib.SequenceMatcher(a=left[:DIFF_MAX_LINES], b=right[:DIFF_MAX_LINES], autojunk=not exact)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [{"kind": "equal", "left": line, "right": line} for line in left[i1:i2]]
        else:
            rows += _changed_rows(left[i1:i2], right[j1:j2])
    return rows + _changed_rows(left[DIFF_MAX_LINES:], right[DIFF_MAX_LINES:])


def _changed_rows(old: list[str], new: list[str]) -> list[dict]:
    rows = []
    for index in range(max(len(old), len(new))):
        left_line = old[index] if index < len(old) else None
        right_line = new[index] if index < len(new) else None
        if left_line is not None and left_line == right_line:  # side by side and the same: shown as such
            kind = "equal"
        else:
            kind = "replace" if left_line is not None and right_line is not None else (
                "delete" if right_line is None else "insert")
        rows.append({"kind": kind, "left": left_line or "", "right": right_line or ""})
    return rows
