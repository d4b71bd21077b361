"""A reviewer's or editor's account deleted while their decision, edit or restore was on its way:
the request found the account (it is the request's user), then a superuser's deletion of it
committed before the verb's transaction did. The verb's audit row (`ApprovalEvent.actor`) and
its new version (`ContentVersion.created_by`) named the deleted account, the commit failed on
their foreign keys (an IntegrityError, a 500) and the decision was lost. Now the verb refuses
(`NoLongerExists`, 404 from the API) and records nothing.

Each interleaving is forced with two connections (`tests.races.run_while_holding`): the deletion
holds its locks, uncommitted, while the verb runs on the other connection."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from content.models import ApprovalEvent, ContentVersion
from content.services.review import (
    task_approve, task_edit_draft, task_reject, task_restore_version, task_revoke_approval,
)
from tasks.exceptions import NoLongerExists
from tasks.models import GenerationTask
from tests.editorial import completed_task
from tests.factories import make_user
from tests.races import run_while_holding
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db(transaction=True)


def _approved(task, by):
    task_approve(task=task, by=by)


def _edited(task, by):
    task_edit_draft(task=task, by=by, body="Composting turns scraps into soil, slowly.")


VERBS = {
    "approve": (None, lambda task, by: task_approve(task=task, by=by)),
    "reject": (None, lambda task, by: task_reject(task=task, by=by, feedback="Too short.", reasons=["length"])),
    "revise": (None, lambda task, by: task_reject(task=task, by=by, feedback="Longer.", reasons=["length"],
                                                  revise=True)),
    "revoke": (_approved, lambda task, by: task_revoke_approval(task=task, by=by)),
    "edit": (None, lambda task, by: task_edit_draft(task=task, by=by, title="Composting, done well")),
    "restore": (_edited, lambda task, by: task_restore_version(task=task, by=by, number=3)),
}


@pytest.mark.parametrize("name", VERBS)
def test_a_verb_by_a_reviewer_whose_account_is_deleted_meanwhile_records_nothing(editor, reviewer, name):
    ensure_seed_data()
    before, verb = VERBS[name]
    task = completed_task(created_by=editor)
    if before is not None:
        before(task, make_user("root", is_superuser=True))
    task.refresh_from_db()
    state = (task.status, task.approval_status, task.revision)
    events, versions = ApprovalEvent.objects.count(), ContentVersion.objects.count()

    outcome = run_while_holding(lambda: get_user_model().objects.get(pk=reviewer.pk).delete(),
                                lambda: verb(task, reviewer))

    assert isinstance(outcome, NoLongerExists), repr(outcome)
    assert str(outcome) == "Your account was deleted meanwhile; nothing was saved."
    task.refresh_from_db()
    assert (task.status, task.approval_status, task.revision) == state
    assert (ApprovalEvent.objects.count(), ContentVersion.objects.count()) == (events, versions)
    assert GenerationTask.objects.get(pk=task.pk).created_by == editor
