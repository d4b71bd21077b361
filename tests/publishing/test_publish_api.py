"""The publishing API: publish (now or scheduled), republish, unpublish, and the task's post.

Each verb's happy path and refusals (403 without the publish permission, 409 before approval or
with nothing to unpublish, 400 for a bad time), the audit trail they leave, and the `post` the
task representation shows, read for a whole page of tasks in one query.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from content.models import ApprovalEvent
from content.services.versions import version_create
from publishing.models import Post
from publishing.selectors import task_post_summaries, task_post_summary
from tasks.models import GenerationTask
from tasks.validators import UTC_OFFSET_MESSAGE
from tests.api_errors import error_of
from tests.factories import make_task

pytestmark = pytest.mark.django_db

BODY = "# Composting at home\n\nComposting turns kitchen scraps into soil.\n\nGreens and browns, in equal parts."


def completed_task(*, created_by, **fields) -> GenerationTask:
    """A blog post whose pipeline finished: a draft (version 1) and its formatted version (2)."""
    task = make_task(created_by=created_by, **fields)
    version_create(task=task, phase="draft", title="Composting at home", body=BODY)
    version_create(task=task, phase="format", title="Composting at home", body=BODY,
                   body_html="<p>Composting turns kitchen scraps into soil.</p>", excerpt="Compost.",
                   seo={"slug": "composting-at-home"})
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", finished_at=timezone.now(), progress=100)
    task.refresh_from_db()
    return task


def approved_task(reviewer_client, *, created_by, **fields) -> GenerationTask:
    task = completed_task(created_by=created_by, **fields)
    response = reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})
    assert response.status_code == 200, response.content
    return task


# --- publish ------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_publish_answers_200_with_the_task_and_its_post(slash, reviewer_client, editor, client):
    task = approved_task(reviewer_client, created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/publish{slash}")

    assert response.status_code == 200, response.content
    post = response.json()["post"]
    stored = Post.objects.get(task=task)
    assert post["id"] == str(stored.pk)
    assert post["slug"] == "composting-at-home"
    assert post["url"] == "/posts/composting-at-home/"
    assert post["published_at"] is not None
    assert client.get(post["url"]).status_code == 200


def test_the_task_detail_shows_the_post_after_publishing(reviewer_client, editor_client, editor):
    task = approved_task(reviewer_client, created_by=editor)
    assert editor_client.get(f"/api/tasks/{task.pk}").json()["post"] is None

    reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    body = editor_client.get(f"/api/tasks/{task.pk}").json()
    assert body["approval_status"] == "approved"
    assert body["post"]["url"] == "/posts/composting-at-home/"


def test_publish_at_a_future_time_schedules_the_post(reviewer_client, editor):
    task = approved_task(reviewer_client, created_by=editor)
    at = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/publish", {"at": at.isoformat()})

    assert response.status_code == 200, response.content
    assert Post.objects.get(task=task).published_at == at
    assert response.json()["post"]["published_at"] is not None
    assert list(ApprovalEvent.objects.filter(task=task).order_by("created_at").values_list("decision", flat=True)) == [
        "approved", "scheduled",
    ]


def test_publish_at_a_past_time_publishes_now(reviewer_client, editor):
    task = approved_task(reviewer_client, created_by=editor)

    response = reviewer_client.post(f"/api/tasks/{task.pk}/publish", {"at": "2020-01-01T09:00:00Z"})

    assert response.status_code == 200, response.content
    assert Post.objects.get(task=task).published_at > timezone.now() - timedelta(minutes=1)


def test_publish_before_approval_is_a_409_with_the_reason(reviewer_client, editor):
    task = completed_task(created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/publish"), 409, "invalid_transition")

    assert "approved" in error["message"]
    assert not Post.objects.filter(task=task).exists()


def test_publishing_the_published_version_again_is_a_409(reviewer_client, editor):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    error_of(reviewer_client.post(f"/api/tasks/{task.pk}/publish"), 409, "invalid_transition")


def test_editor_publishing_is_refused_with_403(reviewer_client, editor_client, editor):
    task = approved_task(reviewer_client, created_by=editor)

    error = error_of(editor_client.post(f"/api/tasks/{task.pk}/publish"), 403, "permission_denied")

    assert "publish" in error["message"]
    assert not Post.objects.filter(task=task).exists()


def test_republishing_a_newly_approved_version_keeps_the_post_and_its_url(reviewer_client, editor_client, editor):
    task = approved_task(reviewer_client, created_by=editor)
    first = reviewer_client.post(f"/api/tasks/{task.pk}/publish").json()["post"]
    assert editor_client.patch(f"/api/tasks/{task.pk}/draft", {"title": "Composting, simply"}).status_code == 201
    reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True})

    response = reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    assert response.status_code == 200, response.content
    again = response.json()["post"]
    assert (again["id"], again["url"]) == (first["id"], first["url"])
    assert Post.objects.get(task=task).title == "Composting, simply"


@pytest.mark.parametrize("body", [
    {"at": "2030-01-31T09:00:00"},  # no time zone
    {"at": "1999-12-31T23:00:00Z"},
    {"at": "0001-01-01T00:00:00+00:00"},
    {"at": "10000-01-01T00:00:00Z"},
    {"at": "9999-12-31T23:59:59-23:59"},  # year 10000 in UTC: stored, it broke every list showing the task
    {"at": "2000-01-01T00:00:00+23:59"},  # year 1999 in UTC
    {"at": "9999-12-31T23:59:59.999999+00:00"},  # year 10000 east of UTC: more than 100 years ahead
    {"at": "2030-02-30T09:00:00Z"},
    {"at": "tomorrow"},
    {"at": "2030-01-31T09:00:00Z\x00"},
    {"at": 1893456000},
    {"at": ["2030-01-31T09:00:00Z"]},
    {"when": "2030-01-31T09:00:00Z"},
])
def test_malformed_publication_time_is_a_field_level_400(reviewer_client, editor, body):
    task = approved_task(reviewer_client, created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/publish", body, format="json"), 400, "invalid")

    assert set(error["fields"]) == set(body)
    assert not Post.objects.filter(task=task).exists()


def test_a_time_at_the_end_of_year_9999_is_refused_and_the_task_list_still_reads(reviewer_client, editor, settings):
    """Found by a date sweep: in Berlin, 9999-12-31T23:30Z was stored (the schedule taken) and
    answered 400 "Datetime value out of range", as did every list of tasks showing it afterwards."""
    settings.TIME_ZONE = "Europe/Berlin"
    task = approved_task(reviewer_client, created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/publish", {"at": "9999-12-31T23:30:00Z"},
                                          format="json"), 400, "invalid")

    assert set(error["fields"]) == {"at"} and "100 years" in error["fields"]["at"][0]
    assert not Post.objects.filter(task=task).exists()
    assert reviewer_client.get("/api/tasks").status_code == 200


@pytest.mark.parametrize("at", ["2030-01-31T09:00:00+14:01", "2030-01-31T09:00:00-14:01",
                                "2030-01-31T09:00:00+20:58", "2030-01-31T09:00:00-23:59"])
def test_a_time_with_an_offset_no_time_zone_has_is_refused_by_publishing_as_by_the_task_list(
        reviewer_client, editor, at):
    """One rule for the offsets of every date and time the API reads (`tasks.validators.UTC_OFFSETS`):
    the publish API took up to ±23:59 while the task list's filter refused more than ±14:00."""
    task = approved_task(reviewer_client, created_by=editor)

    published = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/publish", {"at": at}, format="json"), 400,
                         "invalid")
    listed = error_of(reviewer_client.get("/api/tasks", {"created_after": at}), 400, "invalid")

    assert published["fields"] == {"at": [UTC_OFFSET_MESSAGE]}
    assert listed["fields"] == {"created_after": [UTC_OFFSET_MESSAGE]}
    assert not Post.objects.filter(task=task).exists()


@pytest.mark.parametrize("at", ["2030-01-31T09:00:00+14:00", "2030-01-31T09:00:00-14:00"])
def test_a_time_with_the_widest_offset_of_a_time_zone_is_taken_by_publishing_and_by_the_task_list(
        reviewer_client, editor, at):
    task = approved_task(reviewer_client, created_by=editor)

    assert reviewer_client.post(f"/api/tasks/{task.pk}/publish", {"at": at}, format="json").status_code == 200
    assert reviewer_client.get("/api/tasks", {"created_after": at}).status_code == 200
    assert Post.objects.get(task=task).published_at == datetime.fromisoformat(at)


def test_publication_time_without_a_zone_names_the_zone_as_missing(reviewer_client, editor):
    task = approved_task(reviewer_client, created_by=editor)

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/publish", {"at": "2030-01-31T09:00:00"}), 400)

    assert "time zone" in error["fields"]["at"][0]


@pytest.mark.parametrize("path", ["publish", "unpublish"])
def test_deeply_nested_json_body_is_a_400_not_a_500(reviewer_client, editor, path):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.raise_request_exception = False

    response = reviewer_client.post(f"/api/tasks/{task.pk}/{path}", data="{\"at\": " + "[" * 100_000 + "]" * 100_000
                                    + "}", content_type="application/json")

    error_of(response, 400, "parse_error")


# --- unpublish ------------------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"])
def test_unpublish_takes_the_post_off_the_blog_and_keeps_its_slug(slash, reviewer_client, editor, client):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    response = reviewer_client.post(f"/api/tasks/{task.pk}/unpublish{slash}", {"reason": "Outdated figures."})

    assert response.status_code == 200, response.content
    post = response.json()["post"]
    assert post["published_at"] is None
    assert post["slug"] == "composting-at-home"
    assert client.get("/posts/composting-at-home/").status_code == 404
    assert ApprovalEvent.objects.get(task=task, decision="unpublished").feedback == "Outdated figures."


def test_unpublishing_a_task_without_a_post_is_a_409(reviewer_client, editor):
    task = approved_task(reviewer_client, created_by=editor)

    error_of(reviewer_client.post(f"/api/tasks/{task.pk}/unpublish"), 409, "invalid_transition")


def test_editor_unpublishing_is_refused_with_403(reviewer_client, editor_client, editor):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    error_of(editor_client.post(f"/api/tasks/{task.pk}/unpublish"), 403, "permission_denied")
    assert Post.objects.get(task=task).is_public


@pytest.mark.parametrize("body, field", [({"reason": 5}, "reason"), ({"reason": "x\x00"}, "reason"),
                                         ({"reason": "x" * 5001}, "reason"), ({"at": None}, "at")])
def test_malformed_unpublish_is_a_field_level_400(reviewer_client, editor, body, field):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    error = error_of(reviewer_client.post(f"/api/tasks/{task.pk}/unpublish", body, format="json"), 400, "invalid")

    assert field in error["fields"]
    assert Post.objects.get(task=task).is_public


def test_revoking_the_approval_of_a_published_task_unpublishes_its_post(reviewer_client, editor):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")

    response = reviewer_client.post(f"/api/tasks/{task.pk}/revoke-approval", {"feedback": "Wrong figures."})

    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "pending"
    assert response.json()["post"]["published_at"] is None


# --- the audit trail ------------------------------------------------------------------------------
def test_audit_trail_after_approve_publish_unpublish_is_complete_and_in_order(reviewer_client, editor_client,
                                                                            editor):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")
    reviewer_client.post(f"/api/tasks/{task.pk}/unpublish", {"reason": "Outdated."})

    trail = editor_client.get(f"/api/tasks/{task.pk}/approvals").json()["results"]

    assert [(row["decision"], row["actor"], row["version"], row["feedback"]) for row in trail] == [
        ("approved", "reviewer1", 2, ""),
        ("published", "reviewer1", 2, ""),
        ("unpublished", "reviewer1", 2, "Outdated."),
    ]
    times = [row["created_at"] for row in trail]
    assert times == sorted(times)


# --- the task's post in lists --------------------------------------------------------------------
def test_task_list_shows_each_post_without_a_query_per_task(reviewer_client, editor):
    for _ in range(2):
        reviewer_client.post(f"/api/tasks/{approved_task(reviewer_client, created_by=editor).pk}/publish")
    make_task(created_by=editor)

    with CaptureQueriesContext(connection) as three:
        listed = reviewer_client.get("/api/tasks").json()["results"]
    for _ in range(3):
        reviewer_client.post(f"/api/tasks/{approved_task(reviewer_client, created_by=editor).pk}/publish")
    with CaptureQueriesContext(connection) as six:
        assert len(reviewer_client.get("/api/tasks").json()["results"]) == 6

    assert len(six) == len(three)
    assert sorted(bool(task["post"]) for task in listed) == [False, True, True]
    assert {task["post"]["url"] for task in listed if task["post"]} == {
        "/posts/composting-at-home/", "/posts/composting-at-home-2/"}


def test_post_summaries_name_only_tasks_with_a_post(reviewer_client, editor):
    published = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{published.pk}/publish")
    other = completed_task(created_by=editor)

    summaries = task_post_summaries([published.pk, other.pk])

    assert set(summaries) == {published.pk}
    assert summaries[published.pk]["url"] == "/posts/composting-at-home/"
    assert task_post_summary(published) == summaries[published.pk]
    assert task_post_summary(other) is None
    assert task_post_summaries([]) == {}


def test_task_representation_has_no_post_without_the_hook(reviewer_client, editor, settings):
    task = approved_task(reviewer_client, created_by=editor)
    reviewer_client.post(f"/api/tasks/{task.pk}/publish")
    settings.PRESSROOM_TASK_POST_SUMMARIES = ""

    assert reviewer_client.get(f"/api/tasks/{task.pk}").json()["post"] is None


# --- visibility and authentication ---------------------------------------------------------------
@pytest.mark.parametrize("path", ["publish", "unpublish"])
def test_another_editors_task_is_a_404(reviewer_client, editor, other_editor, path):
    task = approved_task(reviewer_client, created_by=editor)
    client = APIClient()
    client.force_authenticate(other_editor)

    error_of(client.post(f"/api/tasks/{task.pk}/{path}"), 404, "not_found")


@pytest.mark.parametrize("path", ["publish", "unpublish"])
def test_publishing_endpoints_require_authentication(api_client, editor, path):
    task = completed_task(created_by=editor)

    error_of(api_client.post(f"/api/tasks/{task.pk}/{path}"), 401, "not_authenticated")
