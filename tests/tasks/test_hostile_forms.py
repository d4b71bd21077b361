"""Hostile form bodies never give a 500: a NUL in any field of an admin add form, an action form or
the login form, and JSON the database cannot store in the brief's `metadata`, are a form error
with nothing stored; the blog's search answers any query; research notes are held to
`RESEARCH_NOTES_MAX` however they arrive (admin form, API, service)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from content.models import ApprovalEvent, ContentVersion
from publishing.models import Category, Post, Tag
from tasks.exceptions import DomainError
from tasks.models import CostBudget, GenerationTask, ModelCatalogEntry
from tasks.services import task_update
from tasks.services.lifecycle import RESEARCH_NOTES_MAX
from tests.editorial import completed_task
from tests.factories import PASSWORD, make_task
from tests.tasks.admin_support import brief_data, client_for

pytestmark = pytest.mark.django_db

NUL = "\x00"
TASK_ADD = "admin:tasks_generationtask_add"


def task_form(**overrides) -> dict:
    return brief_data(**{"timeout_seconds": "900", "metadata": "{}", **overrides})


ADD_FORMS = {
    TASK_ADD: (GenerationTask, task_form),
    "admin:publishing_post_add": (Post, lambda: {
        "title": "Hand-written", "slug": "hand-written", "category": "", "excerpt": "", "body": "Body.",
        "image_alt": "", "image_credit": "", "image_credit_url": "",
    }),
    "admin:publishing_category_add": (Category, lambda: {"name": "Programming", "slug": "programming"}),
    "admin:publishing_tag_add": (Tag, lambda: {"name": "Rust", "slug": "rust"}),
    "admin:tasks_modelcatalogentry_add": (ModelCatalogEntry, lambda: {
        "key": "local-llm", "display_name": "Local LLM", "enabled": "on", "provider": "openai_compatible",
        "provider_model_id": "llama3", "base_url": "http://127.0.0.1:11434/v1", "api_key_env": "",
        "input_price_per_million": "0", "output_price_per_million": "0", "context_window": "8192",
    }),
    "admin:tasks_costbudget_add": (CostBudget, lambda: {
        "user": "root", "monthly_limit": "20.00", "reason": "Trial",
    }),
}
TASK_FORM_FIELDS = ("task_type", "title", "topic", "word_count", "word_count_tolerance", "style", "tone",
                    "target_audience", "primary_keyword", "category", "tags", "model", "priority",
                    "timeout_seconds", "metadata")  # task_form()'s, listed: its model is a row
BUDGET_ADD = "admin:tasks_costbudget_add"
BUDGET_FORM_FIELDS = ("user", "monthly_limit", "reason")  # listed: its body names a user row
ADD_FORM_FIELDS = [(TASK_ADD, field) for field in TASK_FORM_FIELDS] + [
    (name, field) for name, (_, data) in ADD_FORMS.items() if name not in (TASK_ADD, BUDGET_ADD)
    for field, value in data().items() if value != "on"  # a checkbox is on whatever its value
] + [(BUDGET_ADD, field) for field in BUDGET_FORM_FIELDS]


def test_the_valid_form_bodies_the_nul_matrix_starts_from_are_accepted(superuser):
    """Each NUL case below changes one field of a body that is saved as it is."""
    assert set(task_form()) == set(TASK_FORM_FIELDS)
    assert set(ADD_FORMS[BUDGET_ADD][1]()) == set(BUDGET_FORM_FIELDS)
    client = client_for(superuser)
    for url_name, (model, data) in ADD_FORMS.items():
        before = model.objects.count()
        response = client.post(reverse(url_name), data())
        assert response.status_code == 302, (url_name, response.context and response.context["adminform"].form.errors)
        assert model.objects.count() == before + 1


@pytest.mark.parametrize(("url_name", "field"), ADD_FORM_FIELDS)
def test_a_nul_in_any_field_of_an_admin_add_form_is_a_form_error_and_nothing_is_stored(superuser, url_name, field):
    model, data = ADD_FORMS[url_name]
    before = model.objects.count()
    body = data()
    body[field] = f"a{NUL}b"

    response = client_for(superuser).post(reverse(url_name), body)

    assert response.status_code == 200, response.status_code
    assert response.context["adminform"].form.errors
    assert model.objects.count() == before


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ('{"note": "a\\u0000b"}', "NUL"),
        ('{"a\\u0000b": "note"}', "NUL"),
        ('{"deep": [{"x": ["\\u0000"]}]}', "NUL"),
        ('{"note": "\\ud800"}', "lone surrogate"),
        ('{"\\udfff": 1}', "lone surrogate"),
        ('{"a": ' * 5_000 + "1" + "}" * 5_000, "nested too deeply"),
        ('{"a": Infinity}', "not finite"),  # the admin's JSON field reads NaN and Infinity; jsonb cannot
        ('{"a": NaN}', "not finite"),
        ('{"a": [1e400]}', "not finite"),
        ("99999999999999999999", "must be a JSON object"),  # not an object: a TypeError (500) before
        ('"x"', "must be a JSON object"),
        ("[]", "must be a JSON object"),
    ],
    ids=["nul-value", "nul-key", "nul-deep", "surrogate-value", "surrogate-key", "5000-deep", "infinity", "nan",
         "1e400", "number", "string", "list"],
)
def test_unstorable_json_in_the_metadata_field_is_a_form_error_and_nothing_is_stored(superuser, metadata, problem):
    response = client_for(superuser).post(reverse(TASK_ADD), task_form(metadata=metadata))

    assert response.status_code == 200, response.status_code
    assert problem in " ".join(response.context["adminform"].form.errors.get("metadata", [])), \
        response.context["adminform"].form.errors
    assert not GenerationTask.objects.exists()


# --- Research notes: one limit, wherever they arrive ------------------------------------------

def test_research_notes_over_the_limit_in_the_admin_metadata_field_are_a_form_error(editor):
    metadata = json.dumps({"research": {"text": "x" * (RESEARCH_NOTES_MAX + 1)}})

    response = client_for(editor).post(reverse(TASK_ADD), task_form(metadata=metadata))

    assert response.status_code == 200, response.status_code
    assert str(RESEARCH_NOTES_MAX) in " ".join(response.context["adminform"].form.errors["metadata"])
    assert not GenerationTask.objects.exists()


def test_research_notes_at_the_limit_in_the_admin_metadata_field_are_accepted(editor):
    metadata = json.dumps({"research": {"text": "x" * RESEARCH_NOTES_MAX}})

    response = client_for(editor).post(reverse(TASK_ADD), task_form(metadata=metadata))

    assert response.status_code == 302
    assert len(GenerationTask.objects.get().metadata["research"]["text"]) == RESEARCH_NOTES_MAX


def test_the_service_holds_research_notes_to_the_limit_when_metadata_changes(editor):
    task = make_task(created_by=editor)

    with pytest.raises(DomainError, match=str(RESEARCH_NOTES_MAX)):
        task_update(task=task, by=editor, changes={"metadata": {"research": {"text": "x" * 45_000}}})

    task.refresh_from_db()
    assert task.metadata == {}


def test_research_notes_over_the_limit_in_an_api_change_are_refused(editor, editor_client):
    task = make_task(created_by=editor)

    response = editor_client.patch(f"/api/tasks/{task.pk}", {"metadata": {"research": {"text": "x" * 45_000}}},
                                   format="json")

    assert response.status_code == 400, response.content
    assert str(RESEARCH_NOTES_MAX) in response.content.decode()
    task.refresh_from_db()
    assert task.metadata == {}


# --- The task page's action forms and the login form -----------------------------------------

def action_url(task, verb: str) -> str:
    return reverse("admin:tasks_generationtask_action", args=[task.pk, verb])


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("approve", {"approve-feedback": f"fine{NUL}", "approve-seen_version": "3"}),
        ("approve", {"approve-feedback": "", "approve-seen_version": NUL}),
        ("reject", {"reject-feedback": f"bad{NUL}", "reject-reasons": "factual_error", "reject-seen_version": "3"}),
        ("reject", {"reject-feedback": "bad", "reject-reasons": NUL, "reject-seen_version": "3"}),
        ("edit", {"edit-title": f"T{NUL}", "edit-excerpt": "", "edit-body": "Body", "edit-base_version": "3"}),
        ("edit", {"edit-title": "T", "edit-excerpt": "", "edit-body": f"B{NUL}", "edit-base_version": "3"}),
        ("restore", {"restore-number": NUL}),
    ],
)
def test_a_nul_in_a_review_form_is_reported_and_nothing_is_recorded(editor, reviewer, verb, body):
    task = completed_task(created_by=editor)
    decisions, versions = ApprovalEvent.objects.count(), ContentVersion.objects.count()

    response = client_for(reviewer).post(action_url(task, verb), body, follow=True)

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert (ApprovalEvent.objects.count(), ContentVersion.objects.count()) == (decisions, versions)


@pytest.mark.parametrize(("verb", "body"), [("schedule", {"schedule-at": NUL}),
                                            ("retry", {"retry-model": NUL})])
def test_a_nul_in_a_publishing_or_retry_form_is_reported_and_nothing_changes(editor, superuser, verb, body):
    task = completed_task(created_by=editor)
    if verb == "retry":
        GenerationTask.objects.filter(pk=task.pk).update(status="failed")
    else:
        client_for(superuser).post(action_url(task, "approve"), {"approve-seen_version": "3"})

    response = client_for(superuser).post(action_url(task, verb), body, follow=True)

    assert response.status_code == 200
    assert "error" in [m.level_tag for m in response.context["messages"]]
    assert not Post.objects.exists()
    assert GenerationTask.objects.get(pk=task.pk).status == ("failed" if verb == "retry" else "completed")


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_nul_in_the_login_form_is_a_form_error(editor, field):
    body = {"username": editor.username, "password": PASSWORD, "next": "/admin/"}
    body[field] += NUL

    response = Client().post("/admin/login/", body)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in Client().session


# --- The blog's search promises an answer for any query ---------------------------------------

@pytest.mark.parametrize("query", ["tomatoes%00", "%00", "%00'%20OR%201=1%20--", "%ED%A0%80%00", "%00" * 300])
def test_the_blog_search_answers_a_query_with_a_nul_normally(query):
    response = Client().get(f"/search/?q={query}")

    assert response.status_code == 200


# --- Admin list filters and lookups pushed out of range ---------------------------------------

CHANGELISTS = ["tasks/generationtask", "tasks/taskevent", "tasks/stagecheckpoint", "tasks/modelcatalogentry",
               "content/contentversion", "content/approvalevent", "publishing/post", "publishing/category",
               "publishing/tag", "publishing/postchange", "tasks/costbudget"]
OUT_OF_RANGE = ["id__exact=9999999999999999999999", "id=-99999999999999999999", "id__exact=abc",
                "priority__gte=99999999999999999999", "priority__lte=-99999999999999999999", "priority=1e999",
                "created_at__year=99999999999999", "created_at__month=13", "created_at__day=99",
                "created_at__year=2024&created_at__month=2&created_at__day=30", "created_at__year=-1",
                "created_at__gte=9999-99-99", "created_at__gte=99999-01-01", "published_at__year=99999999999",
                "published_at__gte=abc", "o=abc", "o=999", "o=-1.99", "o=" + ".".join(["1"] * 500),
                "p=99999999999999999999", "p=-1", "p=abc", "all=&p=0", "q=" + "x" * 5_000,
                "sequence__gt=99999999999999999999", "attempt=99999999999999999999", "number=99999999999999999999",
                "approval_status__exact=" + "x" * 300, "status__in=queued,,," + "x" * 300,
                "task__id__exact=not-a-uuid", "version__number=99999999999999999999", "tags__id__exact=99999999999999999999",
                "category__id__exact=99999999999999999999", "created_by__id__exact=99999999999999999999"]


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_out_of_range_admin_list_filters_and_lookups_are_ignored_or_refused(superuser, changelist):
    client = client_for(superuser)
    for query in OUT_OF_RANGE:
        response = client.get(f"/admin/{changelist}/?{query}")

        assert response.status_code in (200, 302, 400), (changelist, query[:60], response.status_code)
        if response.status_code == 302:
            assert response["Location"].endswith("?e=1"), (changelist, query[:60], response["Location"])
