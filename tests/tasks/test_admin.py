"""The task pages of the oversight hub: who sees which task, what an admin form may change."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tasks.admin import BRIEF_FIELDS
from content.models import ApprovalEvent
from tasks.exceptions import DomainError, InvalidTransition
from tasks.models import GenerationTask, ModelCatalogEntry, StageCheckpoint, TaskEvent
from tasks.services import task_cancel, task_retry
from tests.factories import make_task, make_version, offline_model

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _brief(**overrides) -> dict:
    """POST data of the brief part of the task form."""
    data = {
        "task_type": "blog_post",
        "title": "",
        "topic": "Rust for Python programmers",
        "word_count": "1200",
        "word_count_tolerance": "10",
        "style": "technical",
        "tone": "friendly",
        "target_audience": "Backend developers",
        "primary_keyword": "rust",
        "category": "Programming",
        "tags": "rust,python",
        "model": str(offline_model().pk),
        "priority": "0",
    }
    data.update(overrides)
    return data


def _inline_management_data(response) -> dict:
    """The inline formsets' management fields, as the change page rendered them."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    return data


def _changelist_rows(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("role", ["editor", "reviewer", "superuser"])
def test_oversight_hub_index_answers_200_for_every_role(request, role):
    user = request.getfixturevalue(role)

    response = _client(user).get(reverse("admin:index"))

    assert response.status_code == 200
    assert "Generation tasks" in response.content.decode()


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:tasks_generationtask_changelist",
        "admin:tasks_generationtask_add",
        "admin:tasks_taskevent_changelist",
        "admin:tasks_stagecheckpoint_changelist",
        "admin:tasks_modelcatalogentry_changelist",
        "admin:tasks_modelcatalogentry_add",
    ],
)
def test_task_admin_pages_answer_200_for_a_superuser(superuser, url_name):
    task = make_task()
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued", message="Queued")
    StageCheckpoint.objects.create(task=task, stage="research", attempt=1, data={"version": 1})

    response = _client(superuser).get(reverse(url_name))

    assert response.status_code == 200


def test_task_admin_changelists_answer_200_to_a_search_and_filters(superuser):
    task = make_task(topic="Searchable topic")
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued", message="Queued")
    client = _client(superuser)
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    queries = {
        "admin:tasks_generationtask_changelist": [
            {"q": "x", "status__exact": "queued", "phase__exact": "draft"},
            {"q": str(task.pk)[:8], "approval_status__exact": "pending", "task_type__exact": "blog_post"},
            {"model__id__exact": str(offline_model().pk), "priority": "0"},
            {"review": "awaiting"},
            {"created_at__year": str(today.year), "created_at__gte": str(today)},
        ],
        "admin:tasks_taskevent_changelist": [
            {"q": "x", "kind__exact": "created", "status__exact": "queued", "phase__exact": ""},
        ],
        "admin:tasks_stagecheckpoint_changelist": [{"q": "x", "stage": "research"}],
        "admin:tasks_modelcatalogentry_changelist": [
            {"q": "x", "provider__exact": "offline", "enabled__exact": "1"},
        ],
    }
    for url_name, query_list in queries.items():
        for query in query_list:
            response = client.get(reverse(url_name), query)
            # An unknown filter parameter would redirect to `?e=1` instead.
            assert response.status_code == 200, (url_name, query)


def test_task_search_finds_a_task_by_the_start_of_its_id(superuser):
    wanted, other = make_task(), make_task()

    response = _client(superuser).get(reverse("admin:tasks_generationtask_changelist"), {"q": str(wanted.pk)[:13]})

    assert _changelist_rows(response) == [wanted]
    assert other not in _changelist_rows(response)


def test_editor_sees_only_their_own_tasks_in_the_changelist(editor, other_editor):
    own = make_task(created_by=editor)
    make_task(created_by=other_editor)
    make_task(created_by=None)

    response = _client(editor).get(reverse("admin:tasks_generationtask_changelist"))

    assert response.status_code == 200
    assert _changelist_rows(response) == [own]


def test_reviewer_sees_every_task_in_the_changelist(reviewer, editor, other_editor):
    tasks = {make_task(created_by=editor), make_task(created_by=other_editor), make_task(created_by=None)}

    response = _client(reviewer).get(reverse("admin:tasks_generationtask_changelist"))

    assert set(_changelist_rows(response)) == tasks


def test_editor_cannot_open_another_editors_task(editor, other_editor):
    foreign = make_task(created_by=other_editor, topic="Someone else's secret brief")

    response = _client(editor).get(reverse("admin:tasks_generationtask_change", args=[foreign.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_editor_sees_only_the_progress_events_of_their_own_tasks(editor, other_editor):
    own = TaskEvent.objects.create(task=make_task(created_by=editor), sequence=1, kind="created", status="queued")
    TaskEvent.objects.create(task=make_task(created_by=other_editor), sequence=1, kind="created", status="queued")

    response = _client(editor).get(reverse("admin:tasks_taskevent_changelist"))

    assert _changelist_rows(response) == [own]


def test_adding_a_task_through_the_admin_records_the_editor_and_queues_it(editor, other_editor):
    data = _brief(status="completed", approval_status="approved", created_by=str(other_editor.pk), attempts="3")

    response = _client(editor).post(reverse("admin:tasks_generationtask_add"), data)

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

    response = _client(editor).get(reverse("admin:tasks_generationtask_add"))

    model_field = response.context["adminform"].form.fields["model"]
    assert set(model_field.queryset) == set(ModelCatalogEntry.objects.enabled())
    assert not model_field.queryset.filter(key="gpt-4o").exists()
    assert response.context["adminform"].form.initial["model"] == offline_model().pk


def test_add_form_refuses_a_disabled_model(editor):
    disabled = ModelCatalogEntry.objects.get(key="gpt-4o")
    disabled.enabled = False
    disabled.save()

    response = _client(editor).post(reverse("admin:tasks_generationtask_add"), _brief(model=str(disabled.pk)))

    assert response.status_code == 200
    assert "model" in response.context["adminform"].form.errors
    assert not GenerationTask.objects.exists()


def test_task_change_page_shows_the_run_read_only_with_its_progress_events(superuser):
    task = make_task()
    TaskEvent.objects.create(task=task, sequence=2, kind="phase", status="running", phase="draft", message="Drafting")
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued", message="Queued by editor")

    response = _client(superuser).get(reverse("admin:tasks_generationtask_change", args=[task.pk]))

    assert response.status_code == 200
    # Only the brief is a form field (its task type is fixed once created); the rest is read-only.
    # The hidden `seen_sequence` carries the event the page showed, to refuse a save made on an old page.
    assert set(response.context["adminform"].form.fields) == set(BRIEF_FIELDS) - {"task_type"} | {"seen_sequence"}
    for pipeline_field in ("status", "approval_status", "attempts", "worker", "actual_cost", "created_by", "error"):
        assert pipeline_field in response.context["adminform"].readonly_fields
    events_inline = next(
        inline for inline in response.context["inline_admin_formsets"] if inline.formset.model is TaskEvent
    )
    assert [form.instance.sequence for form in events_inline.formset.forms] == [1, 2]
    assert not events_inline.has_add_permission
    assert not events_inline.has_change_permission
    assert not events_inline.has_delete_permission
    assert "Drafting" in response.content.decode()


def test_editing_a_queued_brief_changes_only_the_brief(editor):
    task = make_task(created_by=editor, topic="Old topic")
    client = _client(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)

    data = _brief(topic="New topic", approval_status="approved", status="completed", progress="90")
    response = client.post(url, {**data, **_inline_management_data(page)})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.topic == "New topic"
    assert (task.status, task.approval_status, task.progress) == ("queued", "pending", 0)
    assert task.created_by == editor
    assert task.events.filter(kind="log", message__contains="topic").exists()


def test_a_change_the_service_refuses_is_shown_as_a_message_and_nothing_is_written(editor, monkeypatch):
    task = make_task(created_by=editor, topic="Old topic")
    client = _client(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)

    def claimed_meanwhile(*, task, by, changes, **kwargs):
        GenerationTask.objects.filter(pk=task.pk).update(topic="Written before the refusal")
        raise InvalidTransition("Only a queued task can be changed; this one is running.")

    monkeypatch.setattr("tasks.admin.task_update", claimed_meanwhile)
    response = client.post(url, {**_brief(topic="New topic"), **_inline_management_data(page)}, follow=True)

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
    form = model_admin.get_form(request, stale, change=True)(data=_brief(topic="New topic"), instance=stale)
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
    client = _client(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)
    assert "topic" not in page.context["adminform"].form.fields

    response = client.post(url, {**_brief(topic="Rewritten afterwards"), **_inline_management_data(page)})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.topic == "What was asked for"
    assert task.status == "running"


def test_reviewer_can_delete_a_task_together_with_its_events_and_checkpoints(reviewer, editor):
    task = make_task(created_by=editor)
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued")
    StageCheckpoint.objects.create(task=task, stage="research", attempt=1)
    client = _client(reviewer)
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

    response = _client(reviewer).post(url, {"post": "yes"}, follow=True)

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

    page = _run_action(_client(editor), "cancel_tasks", [queued, completed])

    queued.refresh_from_db()
    completed.refresh_from_db()
    assert queued.status == "cancelled"
    assert completed.status == "completed"
    assert "1 task(s) cancelled or asked to stop." in page
    assert "only queued or running tasks can be cancelled" in page


def test_retry_action_queues_a_failed_task_again(editor):
    failed = make_task(created_by=editor, status="failed", finished_at=timezone.now(), error="Provider down")

    _run_action(_client(editor), "retry_tasks", [failed])

    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.finished_at) == ("queued", "", None)


def test_actions_never_reach_another_editors_task(editor, other_editor):
    foreign = make_task(created_by=other_editor)

    _run_action(_client(editor), "cancel_tasks", [foreign])

    foreign.refresh_from_db()
    assert foreign.status == "queued"


def test_editor_cannot_delete_a_task(editor):
    task = make_task(created_by=editor)

    response = _client(editor).post(reverse("admin:tasks_generationtask_delete", args=[task.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert GenerationTask.objects.filter(pk=task.pk).exists()


def test_task_events_cannot_be_added_changed_or_deleted_even_by_a_superuser(superuser):
    event = TaskEvent.objects.create(task=make_task(), sequence=1, kind="created", status="queued", message="Queued")
    client = _client(superuser)
    change_url = reverse("admin:tasks_taskevent_change", args=[event.pk])
    delete_url = reverse("admin:tasks_taskevent_delete", args=[event.pk])
    changelist_url = reverse("admin:tasks_taskevent_changelist")

    assert client.get(change_url).status_code == 200
    assert client.get(reverse("admin:tasks_taskevent_add")).status_code == 403
    assert client.post(change_url, {"message": "rewritten", "sequence": "7"}).status_code == 403
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    action_form = client.get(changelist_url).context["action_form"]
    assert action_form is None or "delete_selected" not in dict(action_form.fields["action"].choices)
    client.post(changelist_url, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})

    event.refresh_from_db()
    assert (event.message, event.sequence) == ("Queued", 1)


def test_stage_checkpoints_cannot_be_added_changed_or_deleted_even_by_a_superuser(superuser):
    task = make_task()
    checkpoint = StageCheckpoint.objects.create(task=task, stage="draft", attempt=1, data={"version": 2})
    client = _client(superuser)
    change_url = reverse("admin:tasks_stagecheckpoint_change", args=[checkpoint.pk])
    delete_url = reverse("admin:tasks_stagecheckpoint_delete", args=[checkpoint.pk])

    assert client.get(change_url).status_code == 200
    assert client.get(reverse("admin:tasks_stagecheckpoint_add")).status_code == 403
    assert client.post(change_url, {"stage": "format", "attempt": "2"}).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    task_page = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk]))

    checkpoint.refresh_from_db()
    assert (checkpoint.stage, checkpoint.attempt) == ("draft", 1)
    inline_models = [inline.formset.model for inline in task_page.context["inline_admin_formsets"]]
    assert StageCheckpoint in inline_models


def _catalog_changelist_data(response, *, enabled: dict[str, bool]) -> dict:
    """The list-editable formset as the changelist rendered it, with `enabled` set per key."""
    formset = response.context["cl"].formset
    data = {formset.management_form.add_prefix(name): value for name, value in formset.management_form.initial.items()}
    for index, form in enumerate(formset.forms):
        data[f"form-{index}-id"] = str(form.instance.pk)
        if enabled.get(form.instance.key, form.instance.enabled):
            data[f"form-{index}-enabled"] = "on"
    data["_save"] = "Save"
    return data


def test_catalog_changelist_can_disable_a_model(superuser):
    client = _client(superuser)
    url = reverse("admin:tasks_modelcatalogentry_changelist")
    page = client.get(url)

    response = client.post(url, _catalog_changelist_data(page, enabled={"gpt-4o": False}))

    assert response.status_code == 302
    assert not ModelCatalogEntry.objects.get(key="gpt-4o").enabled
    assert ModelCatalogEntry.objects.get(key="offline").enabled


def test_catalog_changelist_refuses_to_disable_the_default_model(superuser):
    client = _client(superuser)
    url = reverse("admin:tasks_modelcatalogentry_changelist")
    page = client.get(url)

    response = client.post(url, _catalog_changelist_data(page, enabled={"offline": False}))

    assert response.status_code == 200
    assert "make another model the default first" in response.content.decode()
    assert ModelCatalogEntry.objects.get(key="offline").enabled


def test_editor_can_view_but_not_edit_the_catalog(editor):
    client = _client(editor)
    entry = offline_model()

    assert client.get(reverse("admin:tasks_modelcatalogentry_changelist")).status_code == 200
    assert client.get(reverse("admin:tasks_modelcatalogentry_add")).status_code == 403
    response = client.post(reverse("admin:tasks_modelcatalogentry_change", args=[entry.pk]), {"display_name": "X"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.display_name == "Offline writer (built in)"


# --- The brief form, stale saves, the task page's actions, the list (issue 8) -------------------

def test_the_form_creates_a_task_with_research_notes_and_urls_in_the_same_metadata_as_the_api(editor):
    data = _brief(research_notes="Notes pasted by the editor.",
                  source_urls="https://example.com/heat-pumps\nhttps://example.org/radiators\n")

    response = _client(editor).post(reverse("admin:tasks_generationtask_add"), data)

    assert response.status_code == 302
    assert GenerationTask.objects.get().metadata == {"research": {
        "text": "Notes pasted by the editor.",
        "urls": ["https://example.com/heat-pumps", "https://example.org/radiators"],
    }}


def test_the_form_refuses_a_private_source_url_with_a_field_error(editor):
    response = _client(editor).post(reverse("admin:tasks_generationtask_add"),
                                    _brief(source_urls="https://example.com/ok\nhttp://169.254.169.254/latest"))

    assert response.status_code == 200
    assert "Refusing to fetch 169.254.169.254" in str(response.context["adminform"].form.errors["source_urls"])
    assert not GenerationTask.objects.exists()


def test_the_model_select_disables_a_model_whose_key_is_unset_and_says_why(editor, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keyed = ModelCatalogEntry.objects.filter(api_key_env="OPENAI_API_KEY", enabled=True).first()

    page = _client(editor).get(reverse("admin:tasks_generationtask_add")).content.decode()
    refused = _client(editor).post(reverse("admin:tasks_generationtask_add"), _brief(model=str(keyed.pk)))

    option = re.search(rf'<option value="{keyed.pk}"[^>]*>[^<]*</option>', page).group(0)
    assert " disabled" in option and "needs OPENAI_API_KEY" in option
    assert re.search(r"\$\d+\.\d+ in / \$\d+\.\d+ out per 1M tokens", option)
    assert "needs OPENAI_API_KEY" in str(refused.context["adminform"].form.errors["model"])


def test_an_image_task_drops_the_blog_only_fields(editor):
    data = _brief(task_type="image_generation", word_count="99999", research_notes="ignored",
                  source_urls="http://127.0.0.1/")

    response = _client(editor).post(reverse("admin:tasks_generationtask_add"), data)

    assert response.status_code == 302
    task = GenerationTask.objects.get()
    assert (task.task_type, task.word_count, task.category, task.tags, task.metadata) == (
        "image_generation", 1000, "", [], {})


def test_saving_a_form_opened_before_the_task_changed_is_refused_and_changes_nothing(editor):
    task = make_task(created_by=editor, topic="Old topic")
    client = _client(editor)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    page = client.get(url)
    form_data = {**_brief(topic="New topic"), **_inline_management_data(page),
                 "seen_sequence": str(page.context["adminform"].form["seen_sequence"].value())}
    task_cancel(task=task, by=editor)  # it moved on while the page was open

    response = client.post(url, form_data, follow=True)

    task.refresh_from_db()
    assert task.topic == "Old topic"
    messages = [str(m) for m in response.context["messages"]]
    assert any("changed while the form was open" in m and "nothing was saved" in m for m in messages), messages
    assert not any("successfully" in m for m in messages)


def test_a_finished_task_offers_retry_with_a_model_choice_and_no_save_button(editor):
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now(), error="No key.")

    page = _client(editor).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    assert 'name="_save"' not in page
    assert 'data-verb="retry"' in page and 'name="retry-model"' in page
    assert 'data-verb="cancel"' not in page


def test_retry_with_another_model_requeues_the_task_on_that_model(editor, settings):
    other = ModelCatalogEntry.objects.create(key="house-llm", display_name="House LLM", provider="openai_compatible",
                                             base_url="https://llm.example.com/v1")
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now())

    response = _client(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]),
                                    {"retry-model": str(other.pk)}, follow=True)

    task.refresh_from_db()
    assert (task.status, task.model) == ("queued", other)
    assert any("House LLM" in str(m) for m in response.context["messages"])


def test_retry_on_a_model_that_cannot_run_is_refused(editor, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keyed = ModelCatalogEntry.objects.filter(api_key_env="OPENAI_API_KEY", enabled=True).first()
    task = make_task(created_by=editor, status="failed", finished_at=timezone.now())

    response = _client(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]),
                                    {"retry-model": str(keyed.pk)}, follow=True)

    task.refresh_from_db()
    assert (task.status, task.model) == ("failed", offline_model())
    assert any("needs OPENAI_API_KEY" in str(m) for m in response.context["messages"])
    with pytest.raises(DomainError, match="needs OPENAI_API_KEY"):
        task_retry(task=task, by=editor, model=keyed)


def test_an_action_not_possible_now_is_refused_with_a_message(editor):
    task = make_task(created_by=editor, status="queued")

    response = _client(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "retry"]), follow=True)

    assert any("not possible on this task now" in str(m) for m in response.context["messages"])
    task.refresh_from_db()
    assert task.status == "queued"


def test_list_shows_approval_only_for_completed_tasks_with_quality_words_cost_and_age(superuser):
    failed = make_task(status="failed", finished_at=timezone.now(), title="Failed one")
    done = make_task(status="completed", finished_at=timezone.now(), title="Done one", actual_cost=Decimal("0.0712"))
    make_version(done, phase="format", quality_score=83, word_count=1234)

    response = _client(superuser).get(reverse("admin:tasks_generationtask_changelist"))

    rows = {row.title: row for row in _changelist_rows(response)}
    admin_page = response.context["cl"].model_admin
    assert admin_page.approval_cell(rows["Failed one"]) == "—"
    assert "Pending" in admin_page.approval_cell(rows["Done one"])
    assert (admin_page.quality_cell(rows["Done one"]), admin_page.words_cell(rows["Done one"])) == ("83", "1,234")
    assert admin_page.cost_cell(rows["Done one"]) == "$0.07"
    page = response.content.decode()
    for column in ("column-quality_cell", "column-words_cell", "column-cost_cell", "column-age_cell"):
        assert column in page
    assert f'title="{failed.title}"' in page


def test_review_queue_lists_completed_tasks_pending_approval_oldest_first(superuser):
    now = timezone.now()
    newer = make_task(status="completed", finished_at=now)
    older = make_task(status="completed", finished_at=now - timedelta(hours=2))
    make_task(status="completed", finished_at=now, approval_status="approved")
    make_task(status="failed", finished_at=now)

    response = _client(superuser).get(reverse("admin:tasks_generationtask_changelist"), {"review": "awaiting"})

    assert _changelist_rows(response) == [older, newer]


def test_set_priority_bulk_action_asks_for_the_priority_then_sets_it_on_queued_tasks(editor):
    queued, running = make_task(created_by=editor), make_task(created_by=editor, status="running")
    client = _client(editor)
    url = reverse("admin:tasks_generationtask_changelist")
    selected = {"action": "set_priority", "_selected_action": [str(queued.pk), str(running.pk)]}

    asked = client.post(url, selected)
    applied = client.post(url, {**selected, "apply": "1", "priority": "50"}, follow=True)

    assert asked.status_code == 200 and 'name="priority"' in asked.content.decode()
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.priority, running.priority) == (50, 0)
    assert any("priority 50" in str(m) for m in applied.context["messages"])


def test_row_endpoint_renders_a_new_tasks_row_and_204_when_the_filters_exclude_it(editor):
    task = make_task(created_by=editor, title="Fresh task")
    url = reverse("admin:tasks_generationtask_row", args=[task.pk])

    row = _client(editor).get(url)
    excluded = _client(editor).get(url, {"status__exact": "failed"})

    assert row.status_code == 200
    html = row.content.decode()
    assert html.startswith(f'<tr data-task-row="{task.pk}">') and "Fresh task" in html
    assert f'data-task-id="{task.pk}" data-field="status"' in html
    assert excluded.status_code == 204


def test_editors_see_no_review_forms_and_reviewers_see_approve_and_reject(editor, reviewer):
    task = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    make_version(task, phase="format", body="# Title\n\nText.")
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])

    as_editor = _client(editor).get(url).content.decode()
    as_reviewer = _client(reviewer).get(url).content.decode()

    verbs = lambda page: set(re.findall(r'data-verb="([a-z_]+)"', page))  # noqa: E731
    assert not verbs(as_editor) & {"approve", "reject", "revoke_approval"}
    assert {"approve", "reject"} <= verbs(as_reviewer)


@pytest.mark.parametrize("verb, data, decision", [
    ("approve", {"approve-feedback": "Good."}, "approved"),
    ("reject", {"reject-feedback": "Too thin.", "reject-reasons": ["length", "sources"]}, "rejected"),
])
def test_each_review_form_posts_to_its_verb(editor, reviewer, verb, data, decision):
    task = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    make_version(task, phase="format", body="# Title\n\nText.")

    response = _client(reviewer).post(reverse("admin:tasks_generationtask_action", args=[task.pk, verb]), data,
                                      follow=True)

    event = ApprovalEvent.objects.get(task=task)
    assert (event.decision, event.actor) == (decision, reviewer)
    assert any(m.level_tag == "success" for m in response.context["messages"])


def test_a_refused_review_is_an_error_message_and_writes_nothing(editor, reviewer):
    task = make_task(created_by=editor, status="completed", finished_at=timezone.now())
    make_version(task, phase="format", body="# Title\n\nText.")

    response = _client(reviewer).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "reject"]),
                                      {"reject-feedback": "", "reject-reasons": []}, follow=True)

    assert not ApprovalEvent.objects.filter(task=task).exists()
    assert any(m.level_tag == "error" and "Reject" in str(m) for m in response.context["messages"])


def test_the_diff_page_shows_two_versions_side_by_side(superuser):
    task = make_task(status="completed", finished_at=timezone.now())
    make_version(task, phase="format", title="T", body="# T\n\nOne.\n\nTwo.")
    make_version(task, phase="format", title="T", body="# T\n\nOne.\n\nThree.")

    response = _client(superuser).get(reverse("admin:tasks_generationtask_diff", args=[task.pk]), {"a": 1, "b": 2})

    assert response.status_code == 200
    assert [(r["kind"], r["left"], r["right"]) for r in response.context["rows"] if r["kind"] != "equal"] == [
        ("replace", "Two.", "Three.")]
