"""The task admin's verbs: deleting, the bulk actions and the task page's action and review forms."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from content.models import ApprovalEvent
from content.selectors import current_version
from content.services.review import task_edit_draft
from tasks.exceptions import DomainError
from tasks.models import GenerationTask, ModelCatalogEntry, StageCheckpoint, TaskEvent
from tasks.services import task_retry
from tests.editorial import completed_task
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


def _failed_on_a_model_disabled_since(editor) -> GenerationTask:
    house = ModelCatalogEntry.objects.create(key="house-llm", display_name="House LLM",
                                             provider="openai_compatible", base_url="https://llm.example.com/v1")
    task = make_task(created_by=editor, model=house, status="failed", finished_at=timezone.now())
    ModelCatalogEntry.objects.filter(pk=house.pk).update(enabled=False)
    return task


def test_retry_on_the_tasks_own_model_disabled_since_is_refused_on_the_task_page(editor):
    task = _failed_on_a_model_disabled_since(editor)

    response = client_for(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]),
                                    {"retry-model": ""}, follow=True)

    task.refresh_from_db()
    assert task.status == "failed"
    assert any("House LLM cannot run here: disabled in the catalog" in str(m) for m in response.context["messages"])


def test_retry_action_skips_a_task_whose_model_was_disabled_since(editor):
    task = _failed_on_a_model_disabled_since(editor)

    page = _run_action(client_for(editor), "retry_tasks", [task])

    task.refresh_from_db()
    assert task.status == "failed"
    assert "House LLM cannot run here: disabled in the catalog" in page
    assert "queued again" not in page


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
    [message] = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert message == "Reject: Why it is rejected: This field is required. Reasons: This field is required."


# --- A refused action form comes back as typed -------------------------------------------------

def _action_form(page: str, verb: str) -> str:
    """The HTML of one action form on the task page."""
    return re.search(rf'<form [^>]*data-verb="{verb}">.*?</form>', page, re.S).group(0)


def _field_text(form_html: str, name: str) -> str:
    return html.unescape(re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', form_html, re.S).group(1))


def test_a_stale_edit_is_shown_again_with_the_typed_text_and_nothing_is_saved(editor):
    task = completed_task(created_by=editor)
    base = current_version(task)
    url = reverse("admin:tasks_generationtask_action", args=[task.pk, "edit"])
    page_in_tab_1 = client_for(editor).get(reverse("admin:tasks_generationtask_change", args=[task.pk]))
    assert f'name="edit-base_version" value="{base.number}"' in page_in_tab_1.content.decode()
    task_edit_draft(task=task, by=editor, title="Composting in a flat", base_version=base.number)  # tab 2
    typed = base.body + "\n\nA long paragraph on worms & <bins>, written\nover several lines in tab 1.\n"

    response = client_for(editor).post(url, {"edit-title": base.title, "edit-excerpt": base.excerpt,
                                             "edit-body": typed, "edit-base_version": str(base.number)})

    assert response.status_code == 200
    form = _action_form(response.content.decode(), "edit")
    assert _field_text(form, "edit-body").strip() == typed.strip()
    assert "This piece changed while you were editing" in html.unescape(form)
    assert f'name="edit-base_version" value="{base.number}"' in form, "a second submit is refused again"
    assert current_version(task).title == "Composting in a flat"
    assert "worms" not in current_version(task).body
    assert task.versions.count() == base.number + 1


def test_a_reject_without_reasons_is_shown_again_with_the_feedback_and_the_error(editor, reviewer):
    task = completed_task(created_by=editor)
    feedback = "The introduction repeats the title.\nThe second section needs a source.\nShorter, please."

    response = client_for(reviewer).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "reject"]),
                                         {"reject-feedback": feedback, "reject-seen_version": "3"})

    assert response.status_code == 200
    form = _action_form(response.content.decode(), "reject")
    assert _field_text(form, "reject-feedback").strip() == feedback
    assert "This field is required." in form
    assert any(m.level_tag == "error" and "Reject" in str(m) for m in response.context["messages"])
    assert not ApprovalEvent.objects.filter(task=task).exists()
    task.refresh_from_db()
    assert task.approval_status == "pending"


def test_a_decision_refused_for_a_newer_version_comes_back_naming_the_version_now_shown(editor, reviewer):
    task = completed_task(created_by=editor)
    read = current_version(task).number
    newer = task_edit_draft(task=task, by=editor, title="Composting in a flat", base_version=read)
    url = reverse("admin:tasks_generationtask_action", args=[task.pk, "reject"])
    client = client_for(reviewer)

    refused = client.post(url, {"reject-feedback": "Too thin.", "reject-reasons": ["length"],
                                "reject-seen_version": str(read)})

    form = _action_form(refused.content.decode(), "reject")
    assert "changed while you were reading it" in form
    assert _field_text(form, "reject-feedback").strip() == "Too thin."
    assert re.search(r'<input [^>]*value="length"[^>]* checked', form)
    assert f'name="reject-seen_version" value="{newer.number}"' in form
    assert not ApprovalEvent.objects.filter(task=task, decision="rejected").exists()

    decided = client.post(url, {"reject-feedback": "Too thin.", "reject-reasons": ["length"],
                                "reject-seen_version": str(newer.number)})

    assert decided.status_code == 302
    assert ApprovalEvent.objects.get(task=task, decision="rejected").version == newer
