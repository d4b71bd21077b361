"""The review verbs: approve, reject (with a revision), revoke, edit, restore — and every refusal."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from content.exceptions import PermissionDenied
from content.models import ApprovalEvent
from content.selectors import awaiting_review, current_version, review_actions
from content.services.review import (
    four_eyes_barred,
    four_eyes_forbids,
    four_eyes_note,
    task_approve,
    task_edit_draft,
    task_reject,
    task_restore_version,
    task_revoke_approval,
)
from publishing.roles import REVIEWERS
from tasks.exceptions import DomainError, InvalidTransition
from tasks.models import GenerationTask, StageCheckpoint, TaskEvent
from tasks.signals import task_state_changed
from tests.editorial import completed_task
from tests.factories import make_user


@pytest.fixture
def task(editor):
    return completed_task(created_by=editor)


def _approval_events(task):
    return list(ApprovalEvent.objects.filter(task=task).order_by("created_at").values_list("decision", flat=True))


def test_approve_records_the_decision_on_the_current_version(task, reviewer):
    event = task_approve(task=task, by=reviewer, feedback="Good.")
    task.refresh_from_db()
    assert task.approval_status == "approved"
    assert (event.decision, event.actor, event.feedback, event.version) == (
        "approved", reviewer, "Good.", current_version(task))
    last = TaskEvent.objects.filter(task=task).order_by("-sequence").first()
    assert (last.kind, last.data["decision"], last.data["approval_status"]) == ("approval", "approved", "approved")


def test_editor_cannot_approve(task, other_editor):
    with pytest.raises(PermissionDenied):
        task_approve(task=task, by=other_editor)
    task.refresh_from_db()
    assert task.approval_status == "pending" and not ApprovalEvent.objects.exists()


def test_four_eyes_rule_refuses_approving_ones_own_task(reviewer):
    own = completed_task(created_by=reviewer)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        task_approve(task=own, by=reviewer)
    assert "approve" not in review_actions(reviewer, own)


def test_four_eyes_note_is_given_only_when_the_rule_alone_keeps_a_reviewer_from_deciding(task, reviewer, editor):
    own = completed_task(created_by=reviewer)
    decided = completed_task(created_by=reviewer)
    GenerationTask.objects.filter(pk=decided.pk).update(approval_status="approved")
    decided.refresh_from_db()

    assert "four-eyes" in four_eyes_note(reviewer, own)
    assert four_eyes_note(reviewer, task) == ""  # someone else's: Approve and Reject are offered
    assert four_eyes_note(reviewer, decided) == ""  # nothing waits for a decision anyway
    assert four_eyes_note(editor, task) == ""  # not a reviewer: the rule is not why


def test_four_eyes_rule_keeps_the_author_of_a_version_from_deciding_in_the_verb_and_the_lists(
        task, reviewer):
    assert list(awaiting_review(reviewer)) == [task]
    task_edit_draft(task=task, by=reviewer, body="Compost is what I say it is.")

    assert four_eyes_forbids(reviewer.pk, task)
    assert list(awaiting_review(reviewer)) == [], "the queryset form agrees with the verb"
    assert not {"approve", "reject"} & set(review_actions(reviewer, task))
    assert "you wrote a version of this piece, so another reviewer must approve or reject it" in four_eyes_note(
        reviewer, task)
    with pytest.raises(PermissionDenied, match="you wrote a version of this piece, so another reviewer must approve it"):
        task_approve(task=task, by=reviewer)
    with pytest.raises(PermissionDenied, match="you wrote a version of this piece"):
        task_reject(task=task, by=reviewer, feedback="Mine, after all.", reasons=["quality"])


def _another_reviewer(username: str):
    user = make_user(username)
    user.groups.add(Group.objects.get(name=REVIEWERS))
    return user


@pytest.mark.parametrize("newer_by", ["the task's editor", "a second reviewer"])
def test_a_reviewer_who_wrote_a_version_stays_barred_when_someone_else_edits_after_them_another_reviewer_decides(
        task, reviewer, editor, newer_by):
    """As a code review's "no approval by anyone who added a commit": a trivial newer edit by
    someone else must not hand the rewriting reviewer the decision on their own text."""
    task_edit_draft(task=task, by=reviewer, body="Compost is what I say it is.")
    newer_author = editor if newer_by == "the task's editor" else _another_reviewer("reviewer2")
    task_edit_draft(task=task, by=newer_author, body="Compost is what I say it is, truly.")
    third = _another_reviewer("reviewer3")

    assert four_eyes_forbids(reviewer.pk, task)
    assert list(awaiting_review(reviewer)) == []
    with pytest.raises(PermissionDenied, match="you wrote a version of this piece"):
        task_approve(task=task, by=reviewer)
    assert four_eyes_barred(task) >= {reviewer.pk, task.created_by_id}
    task_approve(task=task, by=third)


def test_four_eyes_rule_can_be_turned_off(reviewer, settings):
    settings.PRESSROOM_FOUR_EYES = False
    own = completed_task(created_by=reviewer)
    task_approve(task=own, by=reviewer)
    own.refresh_from_db()
    assert own.approval_status == "approved"


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled", "timed_out"])
def test_only_completed_tasks_can_be_approved(task, reviewer, status):
    GenerationTask.objects.filter(pk=task.pk).update(status=status)
    task.refresh_from_db()
    with pytest.raises(InvalidTransition):
        task_approve(task=task, by=reviewer)
    assert not ApprovalEvent.objects.exists()


def test_approving_twice_is_refused(task, reviewer):
    task_approve(task=task, by=reviewer)
    with pytest.raises(InvalidTransition, match="already approved"):
        task_approve(task=task, by=reviewer)
    assert _approval_events(task) == ["approved"]


def test_reject_without_feedback_is_refused(task, reviewer):
    with pytest.raises(DomainError, match="Feedback is required"):
        task_reject(task=task, by=reviewer, feedback="  ", reasons=["tone"])
    task.refresh_from_db()
    assert task.approval_status == "pending"


@pytest.mark.parametrize("reasons", [[], ["nonsense"], "tone", None])
def test_reject_needs_known_reason_codes(task, reviewer, reasons):
    with pytest.raises(DomainError):
        task_reject(task=task, by=reviewer, feedback="No.", reasons=reasons)
    assert not ApprovalEvent.objects.exists()


def test_reject_records_feedback_and_reasons(task, reviewer):
    event = task_reject(task=task, by=reviewer, feedback="Too long, off tone.", reasons=["length", "tone", "length"])
    task.refresh_from_db()
    assert task.approval_status == "rejected" and task.status == "completed"
    assert (event.feedback, event.reasons, event.revision_requested) == ("Too long, off tone.", ["length", "tone"],
                                                                          False)


def test_reject_with_revision_requeues_the_task_for_a_new_round(task, reviewer):
    event = task_reject(task=task, by=reviewer, feedback="Shorter please.", reasons=["length"], revise=True,
                        target_words=600)
    task.refresh_from_db()
    assert (task.status, task.revision, task.approval_status, task.progress) == ("queued", 1, "pending", 0)
    assert (event.revision_requested, event.target_words) == (True, 600)


@pytest.mark.parametrize("target", [5, 10_001, "600", True])
def test_revision_target_words_out_of_range_is_refused(task, reviewer, target):
    with pytest.raises(DomainError):
        task_reject(task=task, by=reviewer, feedback="x", reasons=["length"], revise=True, target_words=target)


def test_feedback_with_a_nul_character_is_refused(task, reviewer):
    with pytest.raises(DomainError, match="NUL"):
        task_approve(task=task, by=reviewer, feedback="ok\x00")


def test_revoke_returns_an_approved_task_to_pending(task, reviewer):
    task_approve(task=task, by=reviewer)
    task_revoke_approval(task=task, by=reviewer, feedback="Wrong call.")
    task.refresh_from_db()
    assert task.approval_status == "pending"
    assert _approval_events(task) == ["approved", "approval_revoked"]


def test_revoke_of_a_pending_task_is_refused(task, reviewer):
    with pytest.raises(InvalidTransition):
        task_revoke_approval(task=task, by=reviewer)


def test_edit_makes_a_scored_version_and_returns_approval_to_pending(task, reviewer, editor):
    task_approve(task=task, by=reviewer)
    before = current_version(task)
    version = task_edit_draft(task=task, by=editor, title="Composting in a flat",
                              body=before.body.replace("roughly equal parts", "equal parts by volume"),
                              base_version=before.number)
    task.refresh_from_db()
    assert (version.phase, version.number, version.created_by, version.title) == (
        "edit", before.number + 1, editor, "Composting in a flat")
    assert "equal parts by volume" in version.body and "equal parts by volume" in version.body_html
    assert version.quality_score is not None and version.quality_report["checks"]
    assert task.approval_status == "pending"
    assert current_version(task) == version
    assert _approval_events(task) == ["approved", "edited"]


def test_a_persons_excerpt_stays_through_later_edits_until_a_person_changes_or_clears_it(task, editor):
    """Found by a hostile test: the next edit of the body or title (the admin form sends the excerpt
    unchanged, the API none) put the automatic excerpt back."""
    mine = task_edit_draft(task=task, by=editor, excerpt="Hand-written excerpt.")
    assert (mine.excerpt, mine.excerpt_by_person) == ("Hand-written excerpt.", True)
    by_api = task_edit_draft(task=task, by=editor, title="Composting in a flat")
    by_form = task_edit_draft(task=task, by=editor, body=by_api.body.replace("roughly", "about"),
                              excerpt="Hand-written excerpt.")
    restored = task_restore_version(task=task, by=editor, number=by_api.number)
    assert [v.excerpt for v in (by_api, by_form, restored)] == ["Hand-written excerpt."] * 3
    assert restored.excerpt_by_person

    cleared = task_edit_draft(task=task, by=editor, excerpt="")
    assert cleared.excerpt.startswith("Composting turns kitchen scraps") and not cleared.excerpt_by_person
    follows = task_edit_draft(task=task, by=editor, body=cleared.body.replace("Composting turns", "Compost makes"))
    assert follows.excerpt.startswith("Compost makes") and not follows.excerpt_by_person


def test_edit_from_a_stale_version_is_refused(task, editor):
    base = current_version(task).number
    task_edit_draft(task=task, by=editor, title="First change", base_version=base)
    with pytest.raises(InvalidTransition, match="changed while you were editing"):
        task_edit_draft(task=task, by=editor, title="Second change", base_version=base)


def test_edit_that_changes_nothing_is_refused(task, editor):
    with pytest.raises(DomainError, match="Nothing changed"):
        task_edit_draft(task=task, by=editor, title=current_version(task).title)


def test_other_editors_cannot_edit_a_task_they_cannot_see(task, other_editor):
    with pytest.raises(PermissionDenied):
        task_edit_draft(task=task, by=other_editor, title="Mine now")


def test_restore_copies_an_older_version_as_a_new_one(task, editor, reviewer):
    original = current_version(task)
    task_edit_draft(task=task, by=editor, title="Changed title")
    task_approve(task=task, by=reviewer)
    restored = task_restore_version(task=task, by=editor, number=original.number)
    task.refresh_from_db()
    assert (restored.phase, restored.title, restored.body, restored.body_html) == (
        "restore", original.title, original.body, original.body_html)
    assert task.approval_status == "pending"
    assert _approval_events(task) == ["edited", "approved", "restored"]


def test_restoring_a_step_that_is_not_a_whole_piece_is_refused(task, editor):
    task_edit_draft(task=task, by=editor, title="Changed title")
    with pytest.raises(InvalidTransition, match="not a whole piece"):
        task_restore_version(task=task, by=editor, number=2)  # the draft


def test_review_actions_offer_exactly_what_the_verbs_allow(task, reviewer, other_editor, editor):
    assert review_actions(editor, task) == ["edit"]
    assert review_actions(other_editor, task) == []
    assert review_actions(reviewer, task) == ["approve", "reject", "edit"]
    task_approve(task=task, by=reviewer)
    task.refresh_from_db()
    assert review_actions(reviewer, task) == ["revoke_approval", "edit"]


def test_state_changes_are_signalled_once_after_commit(task, reviewer, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event["kind"])

    task_state_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            task_approve(task=task, by=reviewer)
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        task_state_changed.disconnect(receiver)
    assert received == ["approval"]


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_once_end_with_one_decision(editor):
    from tests.conftest import role
    from tests.factories import make_user

    task = completed_task(created_by=editor)
    first, second = make_user("rev-a"), make_user("rev-b")
    for user in (first, second):
        user.groups.add(role("Reviewers"))
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(user, approve):
        try:
            barrier.wait(timeout=10)
            if approve:
                task_approve(task=task, by=user)
            else:
                task_reject(task=task, by=user, feedback="No.", reasons=["quality"])
            outcomes.append("won")
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(first, True)), threading.Thread(target=decide, args=(second, False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "won"]
    assert ApprovalEvent.objects.filter(task=task).count() == 1
    task.refresh_from_db()
    decision = ApprovalEvent.objects.get(task=task).decision
    assert task.approval_status == decision


def test_reason_codes_are_the_ones_the_writers_understand():
    from content.models import ReasonCode
    from content.providers.base import REVIEW_REASONS

    assert list(ReasonCode.values) == list(REVIEW_REASONS)


def test_a_decision_on_a_version_the_reviewer_did_not_read_is_refused(task, reviewer, editor):
    read = current_version(task).number
    task_edit_draft(task=task, by=editor, title="Changed while the reviewer was reading")
    with pytest.raises(InvalidTransition, match="changed while you were reading"):
        task_approve(task=task, by=reviewer, seen_version=read)
    with pytest.raises(InvalidTransition, match="changed while you were reading"):
        task_reject(task=task, by=reviewer, feedback="No.", reasons=["tone"], seen_version=read)
    assert _approval_events(task) == ["edited"]
    task_approve(task=task, by=reviewer, seen_version=read + 1)


# --- an outline (the offline writer had no material) ----------------------------------------
OUTLINE = "# Composting at home\n\n> **Outline — not an article.**\n\n## The Basics of Compost\n\n- What is it?\n"


def outline_version(task):
    from content.services.versions import version_create

    return version_create(task=task, phase="format", title="Composting at home", body=OUTLINE, model_key="offline",
                          is_outline=True)


def test_an_outline_cannot_be_approved(task, reviewer):
    outline_version(task)
    with pytest.raises(InvalidTransition, match="This version is an outline: write the text"):
        task_approve(task=task, by=reviewer)
    task.refresh_from_db()
    assert task.approval_status == "pending" and not ApprovalEvent.objects.exists()
    assert "approve" not in review_actions(reviewer, task) and "reject" in review_actions(reviewer, task)


def test_a_persons_edit_of_an_outline_is_an_article_that_can_be_approved(task, editor, reviewer):
    outline = outline_version(task)
    edited = task_edit_draft(task=task, by=editor, body="Composting turns kitchen scraps into soil.\n\n"
                             "## What goes in\n\nGreens and browns.", base_version=outline.number)
    assert not edited.is_outline and edited.created_by == editor
    task_approve(task=task, by=reviewer)
    task.refresh_from_db()
    assert task.approval_status == "approved"


def test_restoring_an_outline_keeps_it_an_outline(task, editor, reviewer):
    outline = outline_version(task)
    task_edit_draft(task=task, by=editor, body="Composting turns kitchen scraps into soil.")
    restored = task_restore_version(task=task, by=editor, number=outline.number)
    assert restored.is_outline and restored.model_key == "offline"
    with pytest.raises(InvalidTransition, match="outline"):
        task_approve(task=task, by=reviewer)


def test_an_edit_has_the_word_count_its_quality_report_gives(task, editor):
    """The edit's body ends with the rebuilt Sources section; neither count includes it."""
    StageCheckpoint.objects.create(task=task, stage="research", attempt=1, data={"notes": "", "sources": [
        {"number": 1, "title": "Compost guide", "url": "https://example.org/compost", "quote": "", "kind": "web"}]})
    before = current_version(task)
    body = before.body.replace("roughly equal parts.", "roughly equal parts, as the guide says [1].")
    version = task_edit_draft(task=task, by=editor, title="Composting in a small flat", body=body,
                              base_version=before.number)
    assert "\n## Sources\n\n1. [Compost guide]" in version.body
    assert version.word_count == version.quality_report["word_count"]


@pytest.mark.django_db
def test_the_excerpt_flag_has_a_database_default_for_workers_of_the_release_before():
    """A rolling upgrade: a worker still on the code before the column inserts versions without it
    (found by running the previous release's benchmark against the migrated database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_default FROM information_schema.columns "
                       "WHERE table_name = 'content_contentversion' AND column_name = 'excerpt_by_person'")
        assert cursor.fetchone() == ("false",)
