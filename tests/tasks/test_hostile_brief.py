"""Briefs that try to slip past the API's rules: numbers for text, research notes or source URLs over
the limit."""

from __future__ import annotations

import pytest

from tasks.api.serializers import RESEARCH_NOTES_MAX
from tasks.models import GenerationTask
from tasks.services.lifecycle import SOURCE_URLS_MAX
from tests.tasks.task_api import BRIEF, assert_field_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "field, value",
    [("topic", 1234567890), ("title", 5), ("style", 1), ("tone", 2.5), ("model", 7),
     ("target_audience", True), ("primary_keyword", 42), ("category", ["x"]), ("tags", [1, 2])],
)
def test_a_number_or_other_non_string_for_a_text_field_is_refused(editor_client, field, value):
    response = editor_client.post("/api/tasks", {**BRIEF, field: value}, format="json")
    assert_field_error(response, field)
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize(
    "brief",
    [
        {"metadata": {"research": {"text": "x" * (RESEARCH_NOTES_MAX + 1)}}},
        {"metadata": {"research": {"text": "x" * 45_000, "urls": []}}},
        {"research_notes": "x" * (RESEARCH_NOTES_MAX + 1)},
    ],
    ids=["metadata-just-over", "metadata-45k", "research_notes"],
)
def test_research_notes_over_the_limit_are_refused_wherever_they_arrive(editor_client, brief):
    response = editor_client.post("/api/tasks", {**BRIEF, **brief}, format="json")
    assert response.status_code == 400, response.content
    assert str(RESEARCH_NOTES_MAX) in response.content.decode()
    assert not GenerationTask.objects.exists()


def test_research_notes_at_the_limit_in_metadata_are_accepted(editor_client):
    brief = {**BRIEF, "metadata": {"research": {"text": "x" * RESEARCH_NOTES_MAX}}}
    assert editor_client.post("/api/tasks", brief, format="json").status_code == 201


def test_more_source_urls_than_the_limit_in_metadata_are_refused(editor_client):
    urls = [f"https://example.com/page-{n}" for n in range(SOURCE_URLS_MAX + 1)]
    response = editor_client.post("/api/tasks", {**BRIEF, "metadata": {"research": {"urls": urls}}}, format="json")
    assert response.status_code == 400, response.content
    assert f"Give at most {SOURCE_URLS_MAX} source URLs (there are {SOURCE_URLS_MAX + 1})." in response.content.decode()
    assert not GenerationTask.objects.exists()


def test_source_urls_up_to_the_limit_in_metadata_are_accepted(editor_client):
    urls = [f"https://example.com/page-{n}" for n in range(SOURCE_URLS_MAX)]
    brief = {**BRIEF, "metadata": {"research": {"urls": urls}}}
    assert editor_client.post("/api/tasks", brief, format="json").status_code == 201


def test_the_add_permission_decides_who_creates_tasks_and_staff_status_only_the_admin_site(editor):
    """Rule (README, API): the API and the admin form both need `tasks.add_generationtask`, which the
    Editors group grants; `is_staff` gates the admin site alone."""
    from django.test import Client
    from rest_framework.test import APIClient

    from tests.factories import make_user

    editor.is_staff = False
    editor.save(update_fields=["is_staff"])
    api = APIClient()
    api.force_authenticate(editor)
    assert api.post("/api/tasks", BRIEF, format="json").status_code == 201
    admin = Client()
    admin.force_login(editor)
    assert admin.get("/admin/tasks/generationtask/add/").status_code == 302  # to the admin login

    staff_without_role = make_user("staff-no-role")
    api.force_authenticate(staff_without_role)
    assert api.post("/api/tasks", BRIEF, format="json").status_code == 403
    admin.force_login(staff_without_role)
    assert admin.get("/admin/tasks/generationtask/add/").status_code == 403


@pytest.mark.parametrize(("field", "value", "named"), [
    ("title", "Composting \u202eevil\u202c tips", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("topic", "Composting at home\x01\x02", "U+0001"),
    ("category", "Garden\u2066ing", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("tags", ["soil", "\u202eRTL-override"], "U+202E"),
    ("primary_keyword", "compost\nbins", "U+000A"),
    ("target_audience", "Readers\x1b[31m", "U+001B"),
])
def test_a_brief_line_with_an_invisible_control_or_layout_character_is_refused_and_named(editor_client, field, value,
                                                                                         named):
    """Found by a hostile test: "\u202eevil" showed as "live" in the title a reviewer approved, and
    C0 controls reached pages, meta tags and the digest email."""
    response = editor_client.post("/api/tasks", {**BRIEF, field: value}, format="json")
    assert_field_error(response, field)
    assert named in str(response.json()["error"]["fields"][field])
    assert not GenerationTask.objects.exists()


def test_right_to_left_text_and_its_marks_are_welcome(editor_client):
    response = editor_client.post("/api/tasks", {**BRIEF, "title": "التسميد في المنزل\u200f", "tags": ["סמל"]},
                                  format="json")
    assert response.status_code == 201, response.content
