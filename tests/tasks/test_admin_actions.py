"""The task admin's verbs: deleting, the bulk actions and the task page's action and review forms."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from content.models import ApprovalEvent
from tasks.exceptions import DomainError
from tasks.models import GenerationTask, ModelCatalogEntry, StageCheckpoint, TaskEvent
from tasks.services import task_retry
from tests.factories import make_task, make_version, offline_model
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


def test_reviewer_can_delete_a_task_together_with_its_events_and_checkpoints(reviewer, editor):
    task = make_task(created_by=editor)
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued")
    StageCheckpoint.objects.create(task=task, stage="research", attempt=1)
    client = client_for(reviewer)
    url = reverse("admin:tasks_generationtask_delete", args=[task.pk])
    assert client.get(url).context["perms_lacking"] == set()

    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not GenerationTask.objects.exists()
    assert not TaskEvent.objects.exists()
    assert not StageCheckpoint.objects.exists()


def test_a_running_task_cannot_be_deleted_through_the_admin(reviewer):
    task = make_task(status="running", started_at=timezone.now())
    url = reverse("admin:tasks_generationtask_delete", args=[task.pk])

    response = client_for(reviewer).post(url, {"post": "yes"}, follow=True)

    assert response.redirect_chain == [(reverse("admin:tasks_generationtask_change", args=[task.pk]), 302)]
    assert GenerationTask.objects.filter(pk=task.pk).exists()
    assert "cancel it first" in response.content.decode()


def _run_action(client, action: str, tasks) -> str:
    response = client.post(
        reverse("admin:tasks_generationtask_changelist"),
        {"action": action, "_selected_action": [str(task.pk) for task in tasks]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_cancel_action_cancels_queued_tasks_and_reports_finished_ones(editor):
    queued = make_task(created_by=editor)
    completed = make_task(created_by=editor, status="completed", finished_at=timezone.now())

    page = _run_action(client_for(editor), "cancel_tasks", [queued, completed])

    queued.refresh_from_db()
    completed.refresh_from_db()
    assert queued.status == "cancelled"
    assert completed.status == "completed"
    assert "1 task(s) cancelled or asked to stop." in page
    assert "only queued or running tasks can be cancelled" in page


def test_retry_action_queues_a_failed_task_again(editor):
    failed = make_task(created_by=editor, status="failed", finished_at=timezone.now(), error="Provider down")

    _run_action(client_for(editor), "retry_tasks", [failed])

    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.finished_at) == ("queued", "", None)


def test_actions_never_reach_another_editors_task(editor, other_editor):
    foreign = make_task(created_by=other_editor)

    _run_action(client_for(editor), "cancel_tasks", [foreign])

    foreign.refresh_from_db()
    assert foreign.status == "queued"


def test_editor_cannot_delete_a_task(editor):
    task = make_task(created_by=editor)

    response = client_for(editor).post(reverse("admin:tasks_generationtask_delete", args=[task.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert GenerationTask.objects.filter(pk=task.pk).exists()


def test_a_finished_task_offers_retry_with_a_model_choice_and_no_save_button(editor):
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now(), error="No key.")

    page = client_for(editor).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    assert 'name="_save"' not in page
    assert 'data-verb="retry"' in page and 'name="retry-model"' in page
    assert 'data-verb="cancel"' not in page


def test_retry_with_another_model_requeues_the_task_on_that_model(editor, settings):
    other = ModelCatalogEntry.objects.create(key="house-llm", display_name="House LLM", provider="openai_compatible",
                                             base_url="https://llm.example.com/v1")
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now())

    response = client_for(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]),
                                    {"retry-model": str(other.pk)}, follow=True)

    task.refresh_from_db()
    assert (task.status, task.model) == ("queued", other)
    assert any("House LLM" in str(m) for m in response.context["messages"])


def test_retry_on_a_model_that_cannot_run_is_refused(editor, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keyed = ModelCatalogEntry.objects.filter(api_key_env="OPENAI_API_KEY", enabled=True).first()
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now())

    response = client_for(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]),
                                    {"retry-model": str(keyed.pk)}, follow=True)

    task.refresh_from_db()
    assert (task.status, task.model) == ("failed", offline_model())
    assert any("needs OPENAI_API_KEY" in str(m) for m in response.context["messages"])
    with pytest.raises(DomainError, match="needs OPENAI_API_KEY"):
        task_retry(task=task, by=editor, model=keyed)


def test_an_action_not_possible_now_is_refused_with_a_message(editor):
    task = make_task(created_by=editor, status="queued")

    response = client_for(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]), follow=True)

    assert any("not possible on this task now" in str(m) for m in response.context["messages"])
    task.refresh_from_db()
    assert task.status == "queued"


def test_set_priority_bulk_action_asks_for_the_priority_then_sets_it_on_queued_tasks(editor):
    queued, running = make_task(created_by=editor), make_task(created_by=editor, status="running")
    client = client_for(editor)
    url = reverse("admin:tasks_generationtask_changelist")
    selected = {"action": "set_priority", "_selected_action": [str(queued.pk), str(running.pk)]}

    asked = client.post(url, selected)
    applied = client.post(url, {**selected, "apply": "1", "priority": "50"}, follow=True)

    assert asked.status_code == 200 and 'name="priority"' in asked.content.decode()
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.priority, running.priority) == (50, 0)
    assert any("priority 50" in str(m) for m in applied.context["messages"])


def test_editors_see_no_review_forms_and_reviewers_see_approve_and_reject(editor, reviewer):
    task = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    make_version(task, phase="format", body="# Title\n\nText.")
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])

    as_editor = client_for(editor).get(url).content.decode()
    as_reviewer = client_for(reviewer).get(url).content.decode()

    verbs = lambda page: set(re.findall(r'data-verb="([a-z_]+)"', page))  # noqa: E731
    assert not verbs(as_editor) & {"approve", "reject", "revoke_approval"}
    assert {"approve", "reject"} <= verbs(as_reviewer)


def _review_panel(page: str) -> str:
    match = re.search(r'data-panel="review".*?(?=data-panel=|</section>)', page, re.S)
    return match.group(0) if match else ""


def test_a_reviewer_on_their_own_task_is_told_the_four_eyes_rule_keeps_approve_and_reject_off(reviewer):
    own = make_task(created_by=reviewer, status="completed", finished_at=timezone.now())
    make_version(own, phase="format", body="# Title\n\nText.")

    panel = _review_panel(client_for(reviewer).get(reverse("admin:tasks_generationtask_change", args=[own.pk]))
                          .content.decode())

    assert not set(re.findall(r'data-verb="([a-z_]+)"', panel)) & {"approve", "reject"}
    assert "you created this task, so another reviewer must approve or reject it." in panel


def test_the_review_panel_has_no_four_eyes_note_when_the_reviewer_may_decide(editor, reviewer, settings):
    others = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    own = make_task(created_by=reviewer, status="completed", finished_at=timezone.now())
    for task in (others, own):
        make_version(task, phase="format", body="# Title\n\nText.")
    settings.PRESSROOM_FOUR_EYES = False
    client = client_for(reviewer)

    for task in (others, own):
        panel = _review_panel(client.get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode())
        assert {"approve", "reject"} <= set(re.findall(r'data-verb="([a-z_]+)"', panel))
        assert "four-eyes" not in panel


@pytest.mark.parametrize("verb, data, decision", [
    ("approve", {"approve-feedback": "Good."}, "approved"),
    ("reject", {"reject-feedback": "Too thin.", "reject-reasons": ["length", "sources"]}, "rejected"),
])
def test_each_review_form_posts_to_its_verb(editor, reviewer, verb, data, decision):
    task = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    make_version(task, phase="format", body="# Title\n\nText.")

    response = client_for(reviewer).post(reverse("admin:tasks_generationtask_action", args=[task.pk, verb]), data,
                                      follow=True)

    event = ApprovalEvent.objects.get(task=task)
    assert (event.decision, event.actor) == (decision, reviewer)
    assert any(m.level_tag == "success" for m in response.context["messages"])


def test_a_refused_review_is_an_error_message_and_writes_nothing(editor, reviewer):
    task = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    make_version(task, phase="format", body="# Title\n\nText.")

    response = client_for(reviewer).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "reject"]),
                                      {"reject-feedback": "", "reject-reasons": []}, follow=True)

    assert not ApprovalEvent.objects.filter(task=task).exists()
    assert any(m.level_tag == "error" and "Reject" in str(m) for m in response.context["messages"])
