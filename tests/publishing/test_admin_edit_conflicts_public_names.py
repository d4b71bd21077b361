"""Two people editing one category or tag: the second save does not silently undo the first."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from publishing.models import Category, Tag
from publishing.roles import REVIEWERS
from publishing.services.edit_conflicts import EditConflict, edit_fingerprint
from publishing.services.posts import public_name_save_by_person
from tests.conftest import _member
from tests.races import run_while_holding

pytestmark = pytest.mark.django_db

# Per model: a row, what the first person changes in it, what the second one does.
CASES = {
    Category: ({"name": "Gardening", "slug": "gardening", "description": ""},
               {"description": "Beds, soil and compost."}, {"name": "Gardens"}),
    Tag: ({"name": "compost", "slug": "compost"}, {"slug": "composting"}, {"name": "compost heap"}),
}
BOTH = pytest.mark.parametrize("model", [Category, Tag], ids=["category", "tag"])


@pytest.fixture
def other_reviewer(db):
    return _member("reviewer2", REVIEWERS)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change_url(row) -> str:
    return reverse(f"admin:publishing_{row._meta.model_name}_change", args=[row.pk])


def _loaded_form(client, row) -> dict:
    """The change form's fields as the page gave them (the fingerprint of the row as loaded)."""
    page = client.get(_change_url(row)).content.decode()
    fingerprint = re.search(r'name="loaded_fingerprint" value="([^"]*)"', page)
    assert fingerprint, "the change form carries the fingerprint of the row it shows"
    fields = {name: getattr(row, name) for name in CASES[type(row)][0]}
    return {**fields, "loaded_fingerprint": fingerprint.group(1)}


def _row(model):
    return model.objects.create(**CASES[model][0])


@BOTH
def test_a_save_from_a_page_loaded_before_someone_elses_save_is_refused_and_keeps_what_was_typed(
        model, reviewer, other_reviewer):
    row = _row(model)
    first_change, second_change = CASES[model][1:]
    first, second = _client(reviewer), _client(other_reviewer)
    first_form, second_form = _loaded_form(first, row), _loaded_form(second, row)

    assert first.post(_change_url(row), {**first_form, **first_change}).status_code == 302
    response = second.post(_change_url(row), {**second_form, **second_change})

    assert response.status_code == 200
    page = response.content.decode()
    noun = model._meta.verbose_name
    assert re.search(rf"{reviewer.get_username()} changed this {noun} at \d{{4}}-\d\d-\d\d \d\d:\d\d, after you "
                     "opened this page", page)
    assert f'value="{next(iter(second_change.values()))}"' in page  # what the second person typed stays
    row.refresh_from_db()
    assert {name: getattr(row, name) for name in CASES[model][0]} == {**CASES[model][0], **first_change}
    assert LogEntry.objects.filter(object_id=str(row.pk), action_flag=CHANGE).count() == 1


@BOTH
def test_saving_again_after_the_warning_overwrites_the_other_change_on_purpose(model, reviewer, other_reviewer):
    row = _row(model)
    first_change, second_change = CASES[model][1:]
    first, second = _client(reviewer), _client(other_reviewer)
    first_form, second_form = _loaded_form(first, row), _loaded_form(second, row)
    first.post(_change_url(row), {**first_form, **first_change})
    warned = second.post(_change_url(row), {**second_form, **second_change}).content.decode()
    refreshed = re.search(r'name="loaded_fingerprint" value="([^"]*)"', warned).group(1)

    response = second.post(_change_url(row), {**second_form, **second_change, "loaded_fingerprint": refreshed})

    assert response.status_code == 302, response.context["adminform"].form.errors
    row.refresh_from_db()
    assert {name: getattr(row, name) for name in CASES[model][0]} == {**CASES[model][0], **second_change}


def test_a_change_the_admins_history_does_not_record_is_told_as_someones(reviewer, other_reviewer):
    """Categories and tags have no trail of their own: who changed one is read from the admin's
    history, and a change made elsewhere (here by the service directly) names nobody, nor the person
    who saved the form afterwards without changing anything."""
    row = _row(Category)
    stale = _loaded_form(_client(reviewer), row)
    changed = Category.objects.get(pk=row.pk)
    changed.description = "Changed elsewhere."
    public_name_save_by_person(changed, changed={"description"}, adding=False)
    other = _client(other_reviewer)
    assert other.post(_change_url(row), _loaded_form(other, Category.objects.get(pk=row.pk))).status_code == 302

    response = _client(reviewer).post(_change_url(row), {**stale, "name": "Gardens"})

    assert response.status_code == 200
    assert "Someone changed this category, after you opened this page" in response.content.decode()
    assert Category.objects.get(pk=row.pk).name == "Gardening"


def test_a_publication_naming_a_category_or_tag_is_no_edit_conflict(reviewer, editor):
    """A publication puts its post in the category and under the tag: that is no change of what a
    person edits of them, so a form loaded before it saves without a warning."""
    from content.services.review import task_approve
    from publishing.services.posts import task_publish
    from tests.editorial import completed_task

    category, tag = _row(Category), _row(Tag)
    client = _client(reviewer)
    category_form, tag_form = _loaded_form(client, category), _loaded_form(client, tag)
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    assert post.category_id == category.pk and post.tags.filter(pk=tag.pk).exists()

    assert client.post(_change_url(category), {**category_form, "description": "Beds."}).status_code == 302
    assert client.post(_change_url(tag), {**tag_form, "name": "compost heap"}).status_code == 302
    assert (Category.objects.get().description, Tag.objects.get(pk=tag.pk).name) == ("Beds.", "compost heap")


@BOTH
@pytest.mark.parametrize("junk", ["", "x" * 65, "\x00", "not-hex-" * 8])
def test_a_form_without_a_readable_fingerprint_is_not_refused_for_it(model, reviewer, junk):
    """A form that does not say what it loaded (a script posting to the admin) saves as before;
    junk there is the same as nothing, never a 500, and never a changed field in the history."""
    row = _row(model)

    response = _client(reviewer).post(_change_url(row), {**CASES[model][0], "name": "Gardens",
                                                         "loaded_fingerprint": junk})

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert model.objects.get(pk=row.pk).name == "Gardens"
    entry = LogEntry.objects.get(object_id=str(row.pk), action_flag=CHANGE)
    assert json.loads(entry.change_message) == [{"changed": {"fields": ["Name"]}}]


@BOTH
def test_the_service_refuses_a_save_made_from_an_outdated_fingerprint(model):
    row = _row(model)
    loaded = edit_fingerprint(model, row.pk)
    model.objects.filter(pk=row.pk).update(**CASES[model][1])
    form_copy = model.objects.get(pk=row.pk)
    form_copy.name = "Renamed"

    with pytest.raises(EditConflict) as refused:
        public_name_save_by_person(form_copy, changed={"name"}, adding=False, loaded_fingerprint=loaded)

    assert refused.value.status_code == 409
    assert "Someone changed this" in str(refused.value)
    assert model.objects.get(pk=row.pk).name == CASES[model][0]["name"]


@BOTH
@pytest.mark.django_db(transaction=True)
def test_a_save_waiting_for_the_locks_while_someone_else_saves_is_refused_once_it_has_them(model):
    """Both forms were loaded, and checked, before either saved: the first holds its save's
    transaction open, the second waits for the name lock and the row and must then judge the row as
    the first left it. Checked only before waiting, the second silently undid the first."""
    row = _row(model)
    loaded = edit_fingerprint(model, row.pk)
    first_form, second_form = model.objects.get(pk=row.pk), model.objects.get(pk=row.pk)
    for name, value in CASES[model][1].items():
        setattr(first_form, name, value)
    second_form.name = "Renamed"

    outcome = run_while_holding(
        lambda: public_name_save_by_person(first_form, changed=set(CASES[model][1]), adding=False,
                                           loaded_fingerprint=loaded),
        lambda: public_name_save_by_person(second_form, changed={"name"}, adding=False, loaded_fingerprint=loaded))

    assert isinstance(outcome, EditConflict), outcome
    stored = model.objects.get(pk=row.pk)
    assert {name: getattr(stored, name) for name in CASES[model][0]} == {**CASES[model][0], **CASES[model][1]}
