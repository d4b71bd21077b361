"""A deletion in the admin while someone else's transaction writes a row naming what it deletes:
Django's delete collects the related rows first, so a row written meanwhile made the deletion
fail on its foreign key at commit (a 500 on the delete page). Now every admin deletion checks the
foreign keys as it deletes (`config.admin_site.SiteRulesMixin`) and, when a row was written
meanwhile, collects again: the new row is deleted or unlinked with the rest, or, when it protects
what is deleted, the page says so and nothing is deleted. It takes the rows in the order Django's
deletion does (what names the account first, the account last), the order the verbs take them in
too, so neither waits for the other crosswise.

Each interleaving is forced with two connections (`tests.races.run_while_holding`): the writer
keeps the row it names (FOR KEY SHARE, as `config.locks.rows_kept` and a foreign key's own check
do) and holds its insert, uncommitted, while the deletion runs on the other connection."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from config.locks import rows_kept
from content.models import ApprovalEvent
from tasks.models import GenerationTask
from tests.factories import make_task, make_user
from tests.races import run_while_holding
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


def deleting_in_the_admin(user, superuser, *, bulk: bool = False):
    def verb():
        client = Client(raise_request_exception=False)
        client.force_login(superuser)
        if bulk:
            return client.post(reverse("admin:auth_user_changelist"), {
                "action": "delete_selected", "_selected_action": [user.pk], "post": "yes"})
        return client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})
    return verb


@pytest.mark.parametrize("bulk", [False, True], ids=["delete-page", "delete-selected"])
def test_an_account_deleted_while_it_queues_a_task_is_deleted_and_the_task_kept_without_it(bulk):
    ensure_seed_data()
    superuser, editor = make_user("root", is_superuser=True), make_user("leaving")

    def queueing():  # what task_create does: keep the creator, then insert the task naming it
        assert rows_kept((User, editor.pk)) == (True,)
        return make_task(created_by=editor, topic="Queued while the account was deleted")

    answer = run_while_holding(queueing, deleting_in_the_admin(editor, superuser, bulk=bulk))

    assert answer.status_code == 302, answer.content[:2000]
    assert not User.objects.filter(pk=editor.pk).exists()
    task = GenerationTask.objects.get(topic="Queued while the account was deleted")
    assert task.created_by is None  # SET_NULL, as for the account's earlier tasks


@pytest.mark.parametrize("bulk", [False, True], ids=["delete-page", "delete-selected"])
def test_an_account_whose_decision_was_recorded_meanwhile_is_not_deleted_and_the_page_says_why(bulk):
    ensure_seed_data()
    superuser, reviewer = make_user("root", is_superuser=True), make_user("deciding")
    task = make_task()

    def deciding():  # an audit row naming the reviewer, which protects the account
        assert rows_kept((User, reviewer.pk)) == (True,)
        return ApprovalEvent.objects.create(task=task, decision="rejected", actor=reviewer, feedback="Too short.",
                                            reasons=["length"])

    answer = run_while_holding(deciding, deleting_in_the_admin(reviewer, superuser, bulk=bulk))

    assert answer.status_code == 302, answer.content[:2000]
    assert User.objects.filter(pk=reviewer.pk).exists()
    assert ApprovalEvent.objects.filter(actor=reviewer).count() == 1
    shown = [str(message) for message in answer.client.get(answer["Location"]).context["messages"]]
    assert shown == ["This user cannot be deleted now: approval event recorded meanwhile refer to it. "
                     "Nothing was deleted."]


def test_an_account_deleted_while_a_verb_holds_its_task_and_then_keeps_the_account_neither_deadlocks():
    """A verb locks the task first and keeps its actor's account after (`locked_task`, then
    `actor_kept`), the order in which a deletion of the account reaches them (its tasks unlinked
    first, the account row last). A deletion that locked the account first, then waited for the
    task, deadlocked with such a verb: PostgreSQL aborted one of them."""
    from tasks.services.actors import actor_kept
    from tasks.services.lifecycle import locked_task

    ensure_seed_data()
    superuser, editor = make_user("root", is_superuser=True), make_user("retrying")
    task = make_task(created_by=editor, topic="Retried while its creator was deleted")

    answer = run_while_holding(lambda: locked_task(task), deleting_in_the_admin(editor, superuser),
                               then=lambda: actor_kept(editor))

    assert answer.status_code == 302, answer.content[:2000]
    assert not User.objects.filter(pk=editor.pk).exists()
    assert GenerationTask.objects.get(pk=task.pk).created_by is None
