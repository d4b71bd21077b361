"""One task with a long history: its page shows the newest rows of each part, with a link to all
of them, and reads a bounded number of rows and statements however long the history is.

Sizes just past the bounds; `bench/big_history.py` measures the pages at 100,000 events, 1,000
versions and 300 decisions (docs/reliability.md, row 37)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from content.models import ApprovalEvent, ContentVersion
from tasks.admin_history import HISTORY_ROWS_SHOWN
from tasks.models import GenerationTask, StageCheckpoint, TaskEvent
from tasks.selectors import phase_timeline
from tests.editorial import completed_task
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

MORE = HISTORY_ROWS_SHOWN + 15


def _grow(task: GenerationTask, rows: int) -> None:
    """`rows` more events, checkpoints, versions and decisions, as years of revisions leave them."""
    last = task.events.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    TaskEvent.objects.bulk_create(
        TaskEvent(task=task, sequence=last + n, kind="progress", status="running", phase="draft", progress=50,
                  message=f"Step {n}") for n in range(1, rows + 1))
    GenerationTask.objects.filter(pk=task.pk).update(event_sequence=last + rows)
    StageCheckpoint.objects.bulk_create(StageCheckpoint(task=task, stage="draft", revision=n, attempt=1)
                                        for n in range(1, rows + 1))
    top = task.versions.order_by("-number").values_list("number", flat=True).first()
    ContentVersion.objects.bulk_create(
        ContentVersion(task=task, number=top + n, phase="draft", title=f"Round {n}", body=f"Text of round {n}")
        for n in range(1, rows + 1))
    first = task.versions.order_by("number").first()
    ApprovalEvent.objects.bulk_create(
        ApprovalEvent(task=task, version=first, decision="rejected", reasons=["length"], feedback=f"Shorter {n}")
        for n in range(1, rows + 1))


def _page(client, task):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk]))
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_a_task_page_shows_the_newest_rows_of_a_long_history_and_links_to_all(superuser):
    task = completed_task(created_by=superuser)
    _grow(task, MORE)
    html, _ = _page(client_for(superuser), task)

    events = re.findall(r'id="events-\d+"', html)
    checkpoints = re.findall(r'id="checkpoints-\d+"', html)
    assert len(events) == HISTORY_ROWS_SHOWN and len(checkpoints) == HISTORY_ROWS_SHOWN
    assert f"Step {MORE}</" in html and "Step 1</" not in html  # the newest, not the oldest
    assert f'{reverse("admin:tasks_taskevent_changelist")}?task__id__exact={task.pk}' in html
    assert f'{reverse("admin:tasks_stagecheckpoint_changelist")}?task__id__exact={task.pk}' in html
    versions = re.findall(r'name="a" value="(\d+)"', html)
    assert len(versions) == HISTORY_ROWS_SHOWN and f"Round {MORE}" in html and ">Round 1<" not in html
    assert f"of {MORE + 3} versions" in html
    assert f'{reverse("admin:content_contentversion_changelist")}?task__id__exact={task.pk}' in html
    assert html.count('class="task-audit__feedback"') == HISTORY_ROWS_SHOWN and f"Shorter {MORE}" in html
    assert f"of {MORE} decisions" in html
    assert f'{reverse("admin:content_approvalevent_changelist")}?task__id__exact={task.pk}' in html


def test_a_task_page_reads_as_many_statements_for_a_long_history_as_for_a_short_one(superuser):
    client = client_for(superuser)
    short, long = completed_task(created_by=superuser), completed_task(created_by=superuser, slug="other")
    _grow(short, 2)
    _grow(long, MORE)
    _page(client, short)  # the first page of a client loads what every page then reuses

    assert _page(client, long)[1] == _page(client, short)[1]


def test_the_timeline_reads_only_the_events_that_change_the_phase_or_status(superuser):
    task = completed_task(created_by=superuser)
    last = task.events.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    rows = [("research", "running"), ("research", "running"), ("draft", "running"), ("draft", "running"),
            ("draft", "running"), ("", "completed"), ("", "completed")]
    TaskEvent.objects.bulk_create(TaskEvent(task=task, sequence=last + n, kind="progress", status=status, phase=phase)
                                  for n, (phase, status) in enumerate(rows, start=1))
    read = []

    def counting(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "tasks_taskevent" in sql:
            read.append(context["cursor"].rowcount)
        return result

    with connection.execute_wrapper(counting):
        timeline = {step["phase"]: step["state"] for step in phase_timeline(task, now=timezone.now())}

    assert read == [last + 3]  # research, draft, completed: the repeats stay in the database
    assert (timeline["research"], timeline["draft"], timeline["qa"]) == ("done", "done", "pending")
