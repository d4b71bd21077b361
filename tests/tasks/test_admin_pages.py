"""The task admin's pages and lists: who sees which task, what the list and the task page show."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from tasks.models import StageCheckpoint, TaskEvent
from tests.factories import make_task, make_version, offline_model
from tests.tasks.admin_support import breadcrumbs_of, changelist_rows, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["editor", "reviewer", "superuser"])
def test_oversight_hub_index_answers_200_for_every_role(request, role):
    user = request.getfixturevalue(role)

    response = client_for(user).get(reverse("admin:index"))

    assert response.status_code == 200
    assert "Generation tasks" in response.content.decode()


def test_the_task_lists_breadcrumbs_read_home_tasks_generation_tasks(editor):
    response = client_for(editor).get(reverse("admin:tasks_generationtask_changelist"))

    assert breadcrumbs_of(response) == ["Home", "Tasks", "Generation tasks"]


def test_the_state_of_a_task_in_no_phase_shows_no_dash_for_its_phase(editor):
    task = make_task(created_by=editor, status="completed", phase="", progress=100, finished_at=timezone.now())

    html = client_for(editor).get(reverse("admin:tasks_generationtask_changelist")).content.decode()

    assert re.search(rf'data-task-id="{task.pk}" data-field="phase"[^>]*><span class="task-live__text"></span>', html)
    assert "Completed —" not in " ".join(strip_tags(html).split())


@pytest.mark.parametrize("changelist", ["admin:tasks_generationtask_changelist", "admin:tasks_taskevent_changelist"])
def test_the_phase_filter_names_the_option_of_no_phase_in_words(editor, changelist):
    response = client_for(editor).get(reverse(changelist))

    phase_filter = next(spec for spec in response.context["cl"].filter_specs if spec.title == "phase")
    options = [choice["display"] for choice in phase_filter.choices(response.context["cl"])]
    assert options[:3] == ["All", "No phase", "Research"] and "—" not in options


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

    response = client_for(superuser).get(reverse(url_name))

    assert response.status_code == 200


def test_task_admin_changelists_answer_200_to_a_search_and_filters(superuser):
    task = make_task(topic="Searchable topic")
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued", message="Queued")
    client = client_for(superuser)
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

    response = client_for(superuser).get(reverse("admin:tasks_generationtask_changelist"), {"q": str(wanted.pk)[:13]})

    assert changelist_rows(response) == [wanted]
    assert other not in changelist_rows(response)


def test_editor_sees_only_their_own_tasks_in_the_changelist(editor, other_editor):
    own = make_task(created_by=editor)
    make_task(created_by=other_editor)
    make_task(created_by=None)

    response = client_for(editor).get(reverse("admin:tasks_generationtask_changelist"))

    assert response.status_code == 200
    assert changelist_rows(response) == [own]


def test_reviewer_sees_every_task_in_the_changelist(reviewer, editor, other_editor):
    tasks = {make_task(created_by=editor), make_task(created_by=other_editor), make_task(created_by=None)}

    response = client_for(reviewer).get(reverse("admin:tasks_generationtask_changelist"))

    assert set(changelist_rows(response)) == tasks


def test_editor_cannot_open_another_editors_task(editor, other_editor):
    foreign = make_task(created_by=other_editor, topic="Someone else's secret brief")

    response = client_for(editor).get(reverse("admin:tasks_generationtask_change", args=[foreign.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_editor_sees_only_the_progress_events_of_their_own_tasks(editor, other_editor):
    own = TaskEvent.objects.create(task=make_task(created_by=editor), sequence=1, kind="created", status="queued")
    TaskEvent.objects.create(task=make_task(created_by=other_editor), sequence=1, kind="created", status="queued")

    response = client_for(editor).get(reverse("admin:tasks_taskevent_changelist"))

    assert changelist_rows(response) == [own]


def test_list_shows_approval_only_for_completed_tasks_with_quality_words_cost_and_age(superuser):
    failed = make_task(status="failed", finished_at=timezone.now(), title="Failed one")
    done = make_task(status="completed", finished_at=timezone.now(), title="Done one", actual_cost=Decimal("0.0712"))
    make_version(done, phase="format", quality_score=83, word_count=1234)

    response = client_for(superuser).get(reverse("admin:tasks_generationtask_changelist"))

    rows = {row.title: row for row in changelist_rows(response)}
    admin_page = response.context["cl"].model_admin
    assert admin_page.approval_cell(rows["Failed one"]) == "—"
    assert "Pending" in admin_page.approval_cell(rows["Done one"])
    assert (admin_page.quality_cell(rows["Done one"]), admin_page.words_cell(rows["Done one"])) == ("83", "1,234")
    assert admin_page.cost_cell(rows["Done one"]) == "$0.07"
    page = response.content.decode()
    for column in ("column-quality_cell", "column-words_cell", "column-cost_cell", "column-age_cell"):
        assert column in page
    assert f'title="{failed.title}"' in page


def test_list_shows_the_quality_of_the_current_version_which_for_an_image_is_a_new_image_after_a_restore(superuser):
    image = make_task(status="completed", finished_at=timezone.now(), title="Image one", task_type="image_generation")
    make_version(image, phase="image", quality_score=40)
    make_version(image, phase="restore", quality_score=40)
    make_version(image, phase="image", quality_score=90)  # generated again after the restore: the current one

    response = client_for(superuser).get(reverse("admin:tasks_generationtask_changelist"))

    row, = changelist_rows(response)
    admin_page = response.context["cl"].model_admin
    assert (admin_page.quality_cell(row), admin_page.words_cell(row)) == ("90", "—")


def test_review_queue_lists_completed_tasks_pending_approval_oldest_first(superuser):
    now = timezone.now()
    newer = make_task(status="completed", finished_at=now)
    older = make_task(status="completed", finished_at=now - timedelta(hours=2))
    make_task(status="completed", finished_at=now, approval_status="approved")
    make_task(status="failed", finished_at=now)

    response = client_for(superuser).get(reverse("admin:tasks_generationtask_changelist"), {"review": "awaiting"})

    assert changelist_rows(response) == [older, newer]


@pytest.mark.parametrize("four_eyes", [True, False])
def test_review_queue_leaves_out_a_reviewers_own_tasks_only_under_the_four_eyes_rule(
        reviewer, editor, settings, four_eyes):
    settings.PRESSROOM_FOUR_EYES = four_eyes
    now = timezone.now()
    others = make_task(status="completed", finished_at=now - timedelta(hours=1), created_by=editor)
    own = make_task(status="completed", finished_at=now, created_by=reviewer)

    response = client_for(reviewer).get(reverse("admin:tasks_generationtask_changelist"), {"review": "awaiting"})

    expected = [others] if four_eyes else [others, own]
    assert changelist_rows(response) == expected
    assert f"Review queue ({len(expected)})" in response.content.decode()


def test_an_editors_review_queue_is_their_own_tasks_waiting_for_a_reviewer(editor, other_editor):
    mine = make_task(status="completed", finished_at=timezone.now(), created_by=editor)
    make_task(status="completed", finished_at=timezone.now(), created_by=other_editor)

    response = client_for(editor).get(reverse("admin:tasks_generationtask_changelist"), {"review": "awaiting"})

    assert changelist_rows(response) == [mine]


def test_row_endpoint_renders_a_new_tasks_row_and_204_when_the_filters_exclude_it(editor):
    task = make_task(created_by=editor, title="Fresh task")
    url = reverse("admin:tasks_generationtask_row", args=[task.pk])

    row = client_for(editor).get(url)
    excluded = client_for(editor).get(url, {"status__exact": "failed"})

    assert row.status_code == 200
    html = row.content.decode()
    assert html.startswith(f'<tr data-task-row="{task.pk}">') and "Fresh task" in html
    assert f'data-task-id="{task.pk}" data-field="status"' in html
    assert excluded.status_code == 204


def test_the_diff_page_shows_two_versions_side_by_side(superuser):
    task = make_task(status="completed", finished_at=timezone.now())
    make_version(task, phase="format", title="T", body="# T\n\nOne.\n\nTwo.")
    make_version(task, phase="format", title="T", body="# T\n\nOne.\n\nThree.")

    response = client_for(superuser).get(reverse("admin:tasks_generationtask_diff", args=[task.pk]), {"a": 1, "b": 2})

    assert response.status_code == 200
    assert [(r["kind"], r["left"], r["right"]) for r in response.context["rows"] if r["kind"] != "equal"] == [
        ("replace", "Two.", "Three.")]


def test_by_default_the_newest_version_is_compared_with_the_one_a_reviewer_rejected(superuser, reviewer):
    from content.models import ApprovalEvent

    task = make_task(status="completed", finished_at=timezone.now())
    rejected = make_version(task, phase="format", title="T", body="# T\n\nOne.\n\nTwo.")
    ApprovalEvent.objects.create(task=task, decision="rejected", actor=reviewer, version=rejected, feedback="More.",
                                 reasons=["quality"])
    make_version(task, phase="draft", title="T", body="# T\n\nOne.\n\nThree.")
    make_version(task, phase="format", title="T", body="# T\n\nOne.\n\nThree.")  # the format stage changed nothing
    client = client_for(superuser)

    diff = client.get(reverse("admin:tasks_generationtask_diff", args=[task.pk]))
    page = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    assert (diff.context["a"].number, diff.context["b"].number) == (1, 3)
    assert "1 line differs." in diff.content.decode()
    assert re.search(r'name="a" value="1"[^>]*checked', page) and re.search(r'name="b" value="3"[^>]*checked', page)


def test_without_a_rejection_the_default_is_the_newest_earlier_version_that_reads_differently(superuser):
    task = make_task(status="completed", finished_at=timezone.now())
    make_version(task, phase="draft", title="T", body="# T\n\nOne.")
    make_version(task, phase="qa", title="T", body="# T\n\nOne, better.")
    make_version(task, phase="format", title="T", body="# T\n\nOne, better.")

    diff = client_for(superuser).get(reverse("admin:tasks_generationtask_diff", args=[task.pk]))

    # Version 2 reads as 3 does: "0 lines differ" would tell the reviewer nothing.
    assert (diff.context["a"].number, diff.context["b"].number, diff.context["changed"]) == (1, 3, 1)


def test_the_task_list_filters_by_any_catalog_model(editor):
    """At 50,000 tasks (make bench-admin) listing the models tasks use scanned the task table: the
    model filter lists the catalog, which every editor may see, including models no task uses."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tasks.models import ModelCatalogEntry

    unused = ModelCatalogEntry.objects.exclude(key="offline").filter(enabled=True).first()
    make_task(created_by=editor, status="running")
    with CaptureQueriesContext(connection) as captured:
        response = client_for(editor).get(reverse("admin:tasks_generationtask_changelist"))

    assert response.status_code == 200
    assert f"model__id__exact={unused.pk}" in response.content.decode(), "a model no task uses is offered too"
    assert not any('DISTINCT "tasks_generationtask"."model_id"' in query["sql"] for query in captured.captured_queries)


def test_the_creator_filter_names_tasks_whose_creator_was_deleted(superuser, editor):
    gone = make_task(created_by=None)
    make_task(created_by=editor)
    url = reverse("admin:tasks_generationtask_changelist")
    page = client_for(superuser).get(url).content.decode()
    assert "created_by__isnull=True" in page and "Deleted user</a>" in page
    rows = changelist_rows(client_for(superuser).get(url, {"created_by__isnull": "True"}))
    assert [row.pk for row in rows] == [gone.pk]
