"""The task admin's brief form: adding a task, what a change may touch, stale saves refused."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tasks.admin import BRIEF_FIELDS
from tasks.exceptions import InvalidTransition
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tasks.services import task_cancel
from tests.factories import make_task, offline_model
from tests.tasks.admin_support import brief_data, client_for, inline_management_data

pytestmark = pytest.mark.django_db


def test_adding_a_task_through_the_admin_records_the_editor_and_queues_it(editor, other_editor):
    data = brief_data(status="completed", approval_status="approved", created_by=str(other_editor.pk), attempts="3")

    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), data)

    assert response.status_code == 302
    task = GenerationTask.objects.get()
    assert task.created_by == editor
    assert task.status == "queued"
    assert task.approval_status == "pending"
    assert task.attempts == 0
    assert task.topic == "Rust for Python programmers"
    assert task.tags == ["rust", "python"]
    assert list(task.events.values_list("sequence", "kind")) == [(1, "created")]


def test_add_form_offers_only_enabled_models_and_preselects_the_default(editor):
    ModelCatalogEntry.objects.filter(key="gpt-4o").update(enabled=False)

    response = client_for(editor).get(reverse("admin:tasks_generationtask_add"))

    model_field = response.context["adminform"].form.fields["model"]
    assert set(model_field.queryset) == set(ModelCatalogEntry.objects.enabled())
    assert not model_field.queryset.filter(key="gpt-4o").exists()
    assert response.context["adminform"].form.initial["model"] == offline_model().pk


def test_add_form_refuses_a_disabled_model(editor):
    disabled = ModelCatalogEntry.objects.get(key="gpt-4o")
    disabled.enabled = False
    disabled.save()

    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), brief_data(model=str(disabled.pk)))

    assert response.status_code == 200
    assert "model" in response.context["adminform"].form.errors
    assert not GenerationTask.objects.exists()


def test_task_change_page_shows_the_run_read_only_with_its_progress_events(superuser):
    task = make_task()
    TaskEvent.objects.create(task=task, sequence=2, kind="phase", status="running", phase="draft", message="Drafting")
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued", message="Queued by editor")

    response = client_for(superuser).get(reverse("admin:tasks_generationtask_change", args=[task.pk]))

    assert response.status_code == 200
    # Only the brief is a form field (its task type is fixed once created); the rest is read-only.
    # The hidden `seen_sequence` carries the event the page showed, to refuse a save made on an old page.
    assert set(response.context["adminform"].form.fields) == set(BRIEF_FIELDS) - {"task_type"} | {"seen_sequence"}
    for pipeline_field in ("status", "approval_status", "attempts", "worker", "actual_cost", "created_by", "error"):
        assert pipeline_field in response.context["adminform"].readonly_fields
    events_inline = next(
        inline for inline in response.context["inline_admin_formsets"] if inline.formset.model is TaskEvent
    )
    assert [form.instance.sequence for form in events_inline.formset.forms] == [2, 1]  # newest first
    assert not events_inline.has_add_permission
    assert not events_inline.has_change_permission
    assert not events_inline.has_delete_permission
    assert "Drafting" in response.content.decode()


def test_a_started_task_page_names_its_model_once_with_its_api_key(editor):
    task = make_task(created_by=editor, status="running", started_at=timezone.now())
    page = client_for(editor).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    assert "Offline writer (built in) · offline" in page
    assert "(built in) (offline)" not in page


@pytest.mark.parametrize("status, title", [("queued", "Change generation task"), ("running", "Generation task"),
                                           ("completed", "Generation task")])
def test_the_task_page_is_a_change_form_only_while_the_brief_can_change(editor, status, title):
    times = {"running": {"started_at": timezone.now()},
             "completed": {"started_at": timezone.now(), "finished_at": timezone.now()}}.get(status, {})
    task = make_task(created_by=editor, status=status, **times)
    page = client_for(editor).get(reverse("admin:tasks_generationtask_change", args=[task.pk]))

    assert page.context["title"] == title
    assert f"<h1>{title}</h1>" in page.content.decode()


def test_editing_a_queued_brief_changes_only_the_brief(editor):
    task = make_task(created_by=editor, topic="Old topic")
    client = client_for(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)

    data = brief_data(topic="New topic", approval_status="approved", status="completed", progress="90")
    response = client.post(url, {**data, **inline_management_data(page)})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.topic == "New topic"
    assert (task.status, task.approval_status, task.progress) == ("queued", "pending", 0)
    assert task.created_by == editor
    assert task.events.filter(kind="log", message__contains="topic").exists()


def test_a_change_the_service_refuses_is_shown_as_a_message_and_nothing_is_written(editor, monkeypatch):
    task = make_task(created_by=editor, topic="Old topic")
    client = client_for(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)

    def claimed_meanwhile(*, task, by, changes, **kwargs):
        GenerationTask.objects.filter(pk=task.pk).update(topic="Written before the refusal")
        raise InvalidTransition("Only a queued task can be changed; this one is running.")

    monkeypatch.setattr("tasks.admin.task_update", claimed_meanwhile)
    response = client.post(url, {**brief_data(topic="New topic"), **inline_management_data(page)}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    assert "this one is running" in response.content.decode()
    task.refresh_from_db()
    assert task.topic == "Old topic"


def test_saving_a_brief_does_not_overwrite_run_fields_a_worker_changed_meanwhile(editor, rf):
    task = make_task(created_by=editor, topic="Old topic")
    model_admin = admin.site.get_model_admin(GenerationTask)
    request = rf.post("/")
    request.user = editor
    stale = GenerationTask.objects.get(pk=task.pk)
    form = model_admin.get_form(request, stale, change=True)(data=brief_data(topic="New topic"), instance=stale)
    assert form.is_valid(), form.errors
    cancelled_at = timezone.now()
    GenerationTask.objects.filter(pk=task.pk).update(cancel_requested_at=cancelled_at, progress=5)

    model_admin.save_model(request, form.save(commit=False), form, change=True)

    task.refresh_from_db()
    assert task.topic == "New topic"
    assert task.cancel_requested_at == cancelled_at
    assert task.progress == 5


def test_brief_is_read_only_once_the_task_has_left_the_queue(editor):
    task = make_task(created_by=editor, topic="What was asked for", status="running", started_at=timezone.now())
    client = client_for(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)
    assert "topic" not in page.context["adminform"].form.fields

    response = client.post(url, {**brief_data(topic="Rewritten afterwards"), **inline_management_data(page)})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.topic == "What was asked for"
    assert task.status == "running"


def test_the_form_creates_a_task_with_research_notes_and_urls_in_the_same_metadata_as_the_api(editor):
    data = brief_data(research_notes="Notes pasted by the editor.",
                  source_urls="https://example.com/heat-pumps\nhttps://example.org/radiators\n")

    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), data)

    assert response.status_code == 302
    assert GenerationTask.objects.get().metadata == {"research": {
        "text": "Notes pasted by the editor.",
        "urls": ["https://example.com/heat-pumps", "https://example.org/radiators"],
    }}


def test_the_form_refuses_a_private_source_url_with_a_field_error(editor):
    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"),
                                    brief_data(source_urls="https://example.com/ok\nhttp://169.254.169.254/latest"))

    assert response.status_code == 200
    assert "Refusing to fetch 169.254.169.254" in str(response.context["adminform"].form.errors["source_urls"])
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize("word_count", ["-5", "0", "99"])
def test_a_word_count_below_the_floor_names_the_floor_the_brief_has(editor, word_count):
    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), brief_data(word_count=word_count))

    assert response.context["adminform"].form.errors["word_count"] == [
        "Ensure this value is greater than or equal to 100."]
    assert not GenerationTask.objects.exists()


def test_a_tag_too_long_is_named_as_a_tag(editor):
    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), brief_data(tags="soil, " + "x" * 300))

    [message] = response.context["adminform"].form.errors["tags"]
    assert message.startswith("Tag 2: ") and "array" not in message


def test_a_title_or_tag_with_a_layout_changing_character_is_a_field_error(editor):
    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"),
                                       brief_data(title="Tips \u202eevil", tags="soil, \u2067x"))

    errors = response.context["adminform"].form.errors
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in errors["title"][0]
    assert errors["tags"][0].startswith("Tag 2: ") and "U+2067" in errors["tags"][0]
    assert not GenerationTask.objects.exists()


def test_the_model_select_disables_a_model_whose_key_is_unset_and_says_why(editor, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keyed = ModelCatalogEntry.objects.filter(api_key_env="OPENAI_API_KEY", enabled=True).first()

    page = client_for(editor).get(reverse("admin:tasks_generationtask_add")).content.decode()
    refused = client_for(editor).post(reverse("admin:tasks_generationtask_add"), brief_data(model=str(keyed.pk)))

    option = re.search(rf'<option value="{keyed.pk}"[^>]*>[^<]*</option>', page).group(0)
    assert " disabled" in option and "needs OPENAI_API_KEY" in option
    assert re.search(r"\$\d+\.\d+ in / \$\d+\.\d+ out per 1M tokens", option)
    assert "needs OPENAI_API_KEY" in str(refused.context["adminform"].form.errors["model"])


def test_an_image_task_drops_the_blog_only_fields(editor):
    data = brief_data(task_type="image_generation", word_count="99999", research_notes="ignored",
                  source_urls="http://127.0.0.1/")

    response = client_for(editor).post(reverse("admin:tasks_generationtask_add"), data)

    assert response.status_code == 302
    task = GenerationTask.objects.get()
    assert (task.task_type, task.word_count, task.category, task.tags, task.metadata) == (
        "image_generation", 1000, "", [], {})


def test_an_image_task_page_shows_no_blog_only_field(editor):
    image = make_task(created_by=editor, task_type="image_generation", status="completed",
                      finished_at=timezone.now())

    html = client_for(editor).get(reverse("admin:tasks_generationtask_change", args=[image.pk])).content.decode()

    assert "Topic" in html and "Target word count" not in html and "Tone" not in html and "Strict mode" not in html


def test_saving_a_form_opened_before_the_task_changed_is_refused_and_changes_nothing(editor):
    task = make_task(created_by=editor, topic="Old topic")
    client = client_for(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)
    form_data = {**brief_data(topic="New topic"), **inline_management_data(page),
                 "seen_sequence": str(page.context["adminform"].form["seen_sequence"].value())}
    task_cancel(task=task, by=editor)  # it moved on while the page was open

    response = client.post(url, form_data, follow=True)

    task.refresh_from_db()
    assert task.topic == "Old topic"
    messages = [str(m) for m in response.context["messages"]]
    assert any("changed while the form was open" in m and "nothing was saved" in m for m in messages), messages
    assert not any("successfully" in m for m in messages)
