"""The review API on versions: edit the draft, restore a version, the audit trail and diffs.

Each verb's happy path and its refusals: in which state (409) and what input (400).
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from markdown_it import MarkdownIt

from content.models import ContentVersion
from tests.api_errors import error_of
from tests.content.review_api import BODY, NEW_BODY, REJECTION, completed_task, edited_task
from tests.factories import make_task

pytestmark = pytest.mark.django_db


# --- edit the draft ---------------------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_editing_the_draft_answers_201_with_the_new_version(slash, editor_client, reviewer_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    response = editor_client.patch(f"/api/tasks/{task.pk}/draft{slash}",
                                   {"body": NEW_BODY, "title": "Composting, simply", "base_version": 2})

    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["number"], version["phase"], version["title"]) == (3, "edit", "Composting, simply")
    assert "rich soil" in version["body"]
    assert version["created_by"] == "editor1"
    task.refresh_from_db()
    assert task.approval_status == "pending"


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\r"])
def test_a_line_separator_in_an_edited_title_is_a_space_not_a_cut(editor_client, editor, separator):
    # str.splitlines() breaks at each of these: the title was cut there and the rest moved into
    # the body, a little more at every edit.
    task = completed_task(created_by=editor)

    response = editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": f"Good{separator}News"}, format="json")

    assert response.status_code == 201, response.content
    version = response.json()
    assert version["title"] == "Good News"
    assert version["body"].startswith("# Good News\n\nComposting turns")  # nothing of the title moved below it


def test_a_citation_of_thousands_of_digits_in_an_edit_is_text_not_a_500(editor_client, editor):
    task = completed_task(created_by=editor)
    body = NEW_BODY + " Text [" + "9" * 5000 + "]."

    response = editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": body}, format="json")

    assert response.status_code == 201, response.content
    assert "9" * 5000 in response.json()["body"]


def test_editing_from_a_stale_base_version_is_a_409(editor_client, editor):
    task = completed_task(created_by=editor)
    assert editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "First edit"}).status_code == 201

    error = error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "Second edit", "base_version": 2}),
                     409, "invalid_transition")

    assert "version 3" in error["message"]
    assert ContentVersion.objects.filter(task=task).count() == 3


def test_editing_a_running_task_is_a_409(editor_client, editor):
    task = make_task(created_by=editor, status="running", started_at=timezone.now())

    error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "New"}), 409, "invalid_transition")


@pytest.mark.parametrize("body, field", [
    ({}, "non_field_errors"),
    ({"base_version": 2}, "non_field_errors"),
    ({"title": 5}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"body": "text\x00"}, "body"),
    ({"excerpt": ["a"]}, "excerpt"),
    ({"title": "New", "base_version": "2"}, "base_version"),
    ({"title": "New", "status": "approved"}, "status"),
])
def test_malformed_draft_edit_is_a_field_level_400(editor_client, editor, body, field):
    task = completed_task(created_by=editor)

    error = error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", body, format="json"), 400, "invalid")

    assert field in error["fields"]
    assert ContentVersion.objects.filter(task=task).count() == 2


@pytest.fixture
def markdown_parses(monkeypatch) -> list[int]:
    """The length of each text markdown-it parses from now on."""
    parses, parse = [], MarkdownIt.parse

    def counted(self, src, env=None):
        parses.append(len(src))
        return parse(self, src, env)

    monkeypatch.setattr(MarkdownIt, "parse", counted)
    return parses


def test_a_body_of_more_lines_than_an_edit_may_have_is_a_400_before_any_of_it_is_parsed(
        editor_client, editor, markdown_parses):
    task = completed_task(created_by=editor)
    markdown_parses.clear()

    error = error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": "y\n" * 99_000}, format="json"), 400)

    assert error["message"] == ("Body has too many lines (99,000; at most 5,000): write each paragraph on one line, "
                                "or join its lines.")
    assert error["fields"] == {"body": ["At most 5,000 lines."]}
    assert markdown_parses == []
    assert ContentVersion.objects.filter(task=task).count() == 2


def test_a_body_of_as_many_lines_as_an_edit_may_have_is_taken(editor_client, editor):
    task = completed_task(created_by=editor)

    response = editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": "y\r\n" * 4_999 + "y"}, format="json")

    assert response.status_code == 201, response.content


def test_an_edit_that_changes_nothing_is_a_400(editor_client, editor):
    task = completed_task(created_by=editor)

    error_of(editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "Composting at home"}), 400)


# --- restore --------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_restoring_a_version_answers_201_with_a_copy_as_the_new_version(slash, editor_client, editor):
    task = edited_task(editor_client, created_by=editor)

    response = editor_client.post(f"/api/tasks/{task.pk}/versions/2/restore{slash}")

    assert response.status_code == 201, response.content
    version = response.json()
    assert (version["number"], version["phase"]) == (4, "restore")
    assert version["body"] == BODY


@pytest.mark.parametrize("number", [9, 10**20, "9" * 5000], ids=["9", "20-digits", "5000-digits"])  # 5,000: a ValueError before
def test_restoring_a_missing_version_is_a_400(editor_client, editor, number):
    task = edited_task(editor_client, created_by=editor)

    error = error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/{number}/restore"), 400)

    assert "number" in error["fields"]


def test_restoring_the_current_version_is_a_409(editor_client, editor):
    task = edited_task(editor_client, created_by=editor)

    error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/3/restore"), 409, "invalid_transition")


def test_restoring_a_draft_step_is_a_409(editor_client, editor):
    task = edited_task(editor_client, created_by=editor)

    error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/1/restore"), 409, "invalid_transition")


def test_restore_with_a_body_field_is_a_400(editor_client, editor):
    task = edited_task(editor_client, created_by=editor)

    error_of(editor_client.post(f"/api/tasks/{task.pk}/versions/2/restore", {"number": 2}), 400, "invalid")


# --- the audit trail -----------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_audit_trail_lists_decisions_oldest_first(slash, reviewer_client, editor_client, editor):
    task = completed_task(created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", REJECTION)
    editor_client.patch(f"/api/tasks/{task.pk}/draft", {"body": NEW_BODY})
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True, "feedback": "Better."})

    response = editor_client.get(f"/api/tasks/{task.pk}/approvals{slash}")

    assert response.status_code == 200, response.content
    trail = response.json()["results"]
    assert [(row["decision"], row["actor"], row["version"]) for row in trail] == [
        ("rejected", "reviewer1", 2), ("edited", "editor1", 3), ("approved", "reviewer1", 3),
    ]
    assert trail[0] | {"created_at": None} == {
        "decision": "rejected", "actor": "reviewer1", "feedback": REJECTION["feedback"], "reasons": ["structure"],
        "version": 2, "revision_requested": False, "target_words": None, "created_at": None,
    }


def test_audit_trail_of_an_undecided_task_is_empty(editor_client, editor):
    task = completed_task(created_by=editor)

    assert editor_client.get(f"/api/tasks/{task.pk}/approvals").json() == {
        "count": 0, "next": None, "previous": None, "results": []}


# --- diff -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_diff_of_two_versions_has_side_by_side_rows_and_a_unified_text(slash, editor_client, editor):
    task = edited_task(editor_client, created_by=editor)

    response = editor_client.get(f"/api/tasks/{task.pk}/versions/2/diff/3{slash}")

    assert response.status_code == 200, response.content
    diff = response.json()
    assert (diff["from"], diff["to"]) == (2, 3)
    assert {"kind": "equal", "left": "# Composting at home", "right": "# Composting at home"} in diff["rows"]
    changed = [row for row in diff["rows"] if row["kind"] != "equal"]
    assert any("rich soil" in row["right"] for row in changed)
    assert diff["unified"].startswith("--- version 2\n+++ version 3\n")
    assert "\n-Composting turns kitchen scraps into soil." in diff["unified"]
    assert "+Composting turns kitchen scraps into rich soil" in diff["unified"]


def test_diff_of_a_version_with_itself_is_all_equal(editor_client, editor):
    task = completed_task(created_by=editor)

    diff = editor_client.get(f"/api/tasks/{task.pk}/versions/2/diff/2").json()

    assert diff["rows"] and {row["kind"] for row in diff["rows"]} == {"equal"}
    assert diff["unified"] == ""


@pytest.mark.parametrize("a, b", [(2, 9), (9, 2), (2, 10**20)])
def test_diff_with_a_missing_version_is_a_404(editor_client, editor, a, b):
    task = completed_task(created_by=editor)

    error_of(editor_client.get(f"/api/tasks/{task.pk}/versions/{a}/diff/{b}"), 404, "not_found")


def _diff_versions(task, left_body: str, right_body: str) -> tuple[int, int]:
    from content.services.versions import version_create

    numbers = []
    for body in (left_body, right_body):
        numbers.append(version_create(task=task, phase="edit", title="Composting at home", body=body).number)
    return tuple(numbers)


def test_a_diff_of_thousands_of_repeated_lines_is_whole_and_shows_them_equal(editor_client, editor):
    # 20,000 lines of "x" against the same plus one line took 30 s to match exactly (a request
    # anyone who sees the task could repeat); past DIFF_EXACT_LINES lines difflib's heuristic
    # matches, and lines side by side that are the same are still shown as equal.
    from content.selectors import DIFF_EXACT_LINES

    task = completed_task(created_by=editor)
    lines = DIFF_EXACT_LINES + 500
    a, b = _diff_versions(task, "x\n" * lines, "x\n" * lines + "y")

    diff = editor_client.get(f"/api/tasks/{task.pk}/versions/{a}/diff/{b}").json()

    assert [row for row in diff["rows"] if row["kind"] != "equal"] == [{"kind": "insert", "left": "", "right": "y"}]
    assert len(diff["rows"]) == lines + 3  # the title, the blank line after it, the lines and "y"
    assert diff["unified"].endswith("\n+y")


def test_lines_past_the_limit_are_shown_unmatched_in_the_rows_and_in_the_unified_text(editor_client, editor,
                                                                                          monkeypatch):
    from content import selectors
    from content.api import views

    monkeypatch.setattr(selectors, "DIFF_MAX_LINES", 4)
    monkeypatch.setattr(views, "DIFF_MAX_LINES", 4)
    task = completed_task(created_by=editor)
    a, b = _diff_versions(task, "one\ntwo\nthree\nfour\nfive", "one\ntwo\nTHREE\nfour\nfive\nsix")

    diff = editor_client.get(f"/api/tasks/{task.pk}/versions/{a}/diff/{b}").json()

    assert [(row["kind"], row["left"], row["right"]) for row in diff["rows"]] == [
        ("equal", "# Composting at home", "# Composting at home"), ("equal", "", ""),
        ("equal", "one", "one"), ("equal", "two", "two"),  # the first four lines of each side, matched
        ("replace", "three", "THREE"), ("equal", "four", "four"), ("equal", "five", "five"),  # the rest, side by side
        ("insert", "", "six"),
    ]
    assert diff["unified"].endswith("@@ -5,3 +5,4 @@\n-three\n-four\n-five\n+THREE\n+four\n+five\n+six")
