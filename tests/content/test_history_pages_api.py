"""A task's versions and audit trail through the API come a page at a time (content/api/views.py,
`TaskRowsPageApi`), as every list of the API does: the envelope, `page`, `page_size` (20 by
default, at most 100), oldest first, and the same answers for bad pages as `GET /api/tasks`.

They were one answer of every row (236 kB at 1,000 versions, docs/reliability.md row 37)."""

from __future__ import annotations

import pytest

from content.models import ApprovalEvent, ContentVersion
from tests.api_errors import error_of
from tests.content.review_api import completed_task

pytestmark = pytest.mark.django_db

LISTS = ["versions", "approvals"]


def _versions(task, up_to: int) -> None:
    """Versions 3 to `up_to` after the two of `completed_task`."""
    ContentVersion.objects.bulk_create(ContentVersion(task=task, number=n, phase="draft", title=f"Round {n}",
                                                      body=f"Text of round {n}") for n in range(3, up_to + 1))


def _decisions(task, count: int) -> None:
    first = task.versions.get(number=1)
    for n in range(1, count + 1):  # one by one: each its own instant, as decisions are written
        ApprovalEvent.objects.create(task=task, version=first, decision="rejected", reasons=["length"],
                                     feedback=f"Decision {n}")


def test_versions_come_twenty_a_page_oldest_first(editor_client, editor):
    task = completed_task(created_by=editor)
    _versions(task, 25)

    first = editor_client.get(f"/api/tasks/{task.pk}/versions").json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 25 and first["previous"] is None
    assert [version["number"] for version in first["results"]] == list(range(1, 21))
    assert first["next"] == f"http://testserver/api/tasks/{task.pk}/versions?page=2"
    second = editor_client.get(first["next"]).json()
    assert [version["number"] for version in second["results"]] == list(range(21, 26))
    assert second["next"] is None
    assert second["previous"] == f"http://testserver/api/tasks/{task.pk}/versions"
    assert set(second["results"][0]) == {"number", "phase", "title", "quality_score", "word_count", "model",
                                         "is_outline", "input_tokens", "output_tokens", "cost", "created_by",
                                         "created_at"}


def test_a_page_of_versions_holds_page_size_of_them_and_at_most_100(editor_client, editor):
    task = completed_task(created_by=editor)
    _versions(task, 105)

    third = editor_client.get(f"/api/tasks/{task.pk}/versions", {"page_size": 5, "page": 3}).json()
    most = editor_client.get(f"/api/tasks/{task.pk}/versions", {"page_size": 1000}).json()

    assert [version["number"] for version in third["results"]] == [11, 12, 13, 14, 15]
    assert [version["number"] for version in most["results"]] == list(range(1, 101))
    assert most["count"] == 105


def test_the_audit_trail_comes_twenty_decisions_a_page_oldest_first(editor_client, editor):
    task = completed_task(created_by=editor)
    _decisions(task, 23)

    first = editor_client.get(f"/api/tasks/{task.pk}/approvals").json()
    second = editor_client.get(first["next"]).json()

    assert first["count"] == 23
    assert [row["feedback"] for row in first["results"]] == [f"Decision {n}" for n in range(1, 21)]
    assert [row["feedback"] for row in second["results"]] == ["Decision 21", "Decision 22", "Decision 23"]
    assert second["next"] is None


@pytest.mark.parametrize("rows", LISTS)
@pytest.mark.parametrize(("query", "status", "code"), [
    ("page=2", 404, "not_found"),  # past the last page (one page of 2 rows)
    ("page=0", 404, "not_found"),
    ("page=-1", 404, "not_found"),
    ("page=abc", 404, "not_found"),
    ("page=1.5", 404, "not_found"),
    ("page=99999999999999999999", 404, "not_found"),
    ("page=" + "9" * 5000, 404, "not_found"),
    ("page=1&page=2", 404, "not_found"),  # the last one counts, as on every list
    ("page=%00", 400, "invalid"),
    ("page_size=%00", 400, "invalid"),
    ("page=%FF", 400, "invalid"),
])
def test_a_bad_page_gets_the_answer_every_list_of_the_api_gives(editor_client, editor, rows, query, status, code):
    task = completed_task(created_by=editor)
    _decisions(task, 2)

    error_of(editor_client.get(f"/api/tasks/{task.pk}/{rows}?{query}"), status, code)
    error_of(editor_client.get(f"/api/tasks?{query}"), status, code)  # the task list answers the same


@pytest.mark.parametrize("rows", LISTS)
@pytest.mark.parametrize(("query", "shown"), [
    ("page_size=-5", 20), ("page_size=0", 20), ("page_size=abc", 20), ("page_size=%D9%A1%D9%A0", 10),
    ("page_size=99999999999999999999", 25),  # held to 100: all 25
    ("page_size=1000&page_size=2", 2),  # the last one counts
    ("page=1&page=1", 20), ("unknown=1", 20),
])
def test_a_page_size_that_is_no_size_gives_twenty_and_a_huge_one_at_most_100(editor_client, editor, rows, query,
                                                                               shown):
    task = completed_task(created_by=editor)
    _versions(task, 25)
    _decisions(task, 25)

    answer = editor_client.get(f"/api/tasks/{task.pk}/{rows}?{query}")

    assert answer.status_code == 200, answer.content
    assert answer.json()["count"] == 25
    assert len(answer.json()["results"]) == shown


@pytest.mark.parametrize(("path", "row"), [("/api/tasks/{task_id}/versions/", "VersionSummaryOutput"),
                                           ("/api/tasks/{task_id}/approvals/", "ApprovalEventOutput")])
def test_the_schema_describes_the_pages(editor_client, path, row):
    schema = editor_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = schema["paths"][path]["get"]

    assert {param["name"] for param in listing["parameters"]} == {"task_id", "page", "page_size"}
    assert {"200", "400", "401", "403", "404"} <= set(listing["responses"])
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    envelope = schema["components"]["schemas"][page]
    assert set(envelope["properties"]) == {"count", "next", "previous", "results"}
    assert envelope["properties"]["results"]["items"]["$ref"].endswith(f"/{row}")
