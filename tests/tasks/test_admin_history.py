"""The admin of a task's history (append-only events and checkpoints) and of the model catalog."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tasks.models import ModelCatalogEntry, StageCheckpoint, TaskEvent
from tests.factories import make_task, offline_model
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


def test_task_events_cannot_be_added_changed_or_deleted_even_by_a_superuser(superuser):
    event = TaskEvent.objects.create(task=make_task(), sequence=1, kind="created", status="queued", message="Queued")
    client = client_for(superuser)
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


def test_a_task_pages_history_button_leads_to_that_tasks_events(editor, other_editor):
    """Found by a hostile test: it showed Django's log of admin form saves, empty for every task
    (the verbs write events and the audit trail, not that log)."""
    task, other = make_task(created_by=editor, topic="Composting at home"), make_task(created_by=editor)
    for owner, sequence in ((task, 1), (task, 2), (other, 1)):
        TaskEvent.objects.create(task=owner, sequence=sequence, kind="status", status="queued",
                                 message=f"Event {sequence} of {owner.pk}")
    client = client_for(editor)

    response = client.get(reverse("admin:tasks_generationtask_history", args=[task.pk]), follow=True)

    assert response.status_code == 200
    assert [event.task_id for event in response.context["cl"].result_list] == [task.pk, task.pk]
    hidden = client_for(other_editor).get(reverse("admin:tasks_generationtask_history", args=[task.pk]))
    assert hidden.status_code == 302 and hidden["Location"] == reverse("admin:index")


def test_stage_checkpoints_cannot_be_added_changed_or_deleted_even_by_a_superuser(superuser):
    task = make_task()
    checkpoint = StageCheckpoint.objects.create(task=task, stage="draft", attempt=1, data={"version": 2})
    client = client_for(superuser)
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


def _save_catalog_changelist(user, *, enabled: dict[str, bool]):
    client = client_for(user)
    url = reverse("admin:tasks_modelcatalogentry_changelist")
    return client.post(url, _catalog_changelist_data(client.get(url), enabled=enabled))


def test_catalog_changelist_can_disable_a_model(superuser):
    response = _save_catalog_changelist(superuser, enabled={"gpt-4o": False})

    assert response.status_code == 302
    assert not ModelCatalogEntry.objects.get(key="gpt-4o").enabled
    assert ModelCatalogEntry.objects.get(key="offline").enabled


def test_catalog_changelist_refuses_to_disable_the_default_model(superuser):
    response = _save_catalog_changelist(superuser, enabled={"offline": False})

    assert response.status_code == 200
    assert "make another model the default first" in response.content.decode()
    assert ModelCatalogEntry.objects.get(key="offline").enabled


def test_editor_can_view_but_not_edit_the_catalog(editor):
    client = client_for(editor)
    entry = offline_model()

    assert client.get(reverse("admin:tasks_modelcatalogentry_changelist")).status_code == 200
    assert client.get(reverse("admin:tasks_modelcatalogentry_add")).status_code == 403
    response = client.post(reverse("admin:tasks_modelcatalogentry_change", args=[entry.pk]), {"display_name": "X"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.display_name == "Offline writer (built in)"


def test_for_one_who_sees_every_task_the_history_lists_do_not_read_the_task_table(superuser, editor, other_editor):
    """Filtering by "the tasks this user may see" put a semi-join with the whole task table into
    every count and page of these lists, for reviewers and superusers, who see all of them: 633 ms
    to count the events' list at 1,000,000 tasks (bench/big_site.py). An editor's lists still hold
    only their own tasks' rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mine, theirs = make_task(created_by=editor), make_task(created_by=other_editor)
    for owner in (mine, theirs):
        TaskEvent.objects.create(task=owner, sequence=1, kind="status", status="queued", message="Queued")
    url = reverse("admin:tasks_taskevent_changelist")

    with CaptureQueriesContext(connection) as queries:
        response = client_for(superuser).get(url)

    assert response.status_code == 200 and len(response.context["cl"].result_list) == 2
    counts = [query["sql"] for query in queries if query["sql"].startswith("SELECT COUNT(*)")]
    assert counts and not any("tasks_generationtask" in sql for sql in counts), counts
    own = client_for(editor).get(url)
    assert [event.task_id for event in own.context["cl"].result_list] == [mine.pk]
