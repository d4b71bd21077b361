"""The counters read from the tasks table (`tasks.metrics.TaskCollector`) after a messy run:
tasks retried or sent back (a finished task queued again) and tasks deleted must not make
`pressroom_tasks_finished_total`, `pressroom_model_tokens_total` or `pressroom_model_cost_total`
go down, since Prometheus reads any decrease of a counter as a restart from zero and counts the
whole remaining value again as new (`increase()` of the failures jumps by every failure ever)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry

from tasks.metrics import TaskCollector
from tasks.models import GenerationTask
from tasks.services.lifecycle import task_delete, task_retry
from tests.factories import submit_task

pytestmark = pytest.mark.django_db


def scraped(name: str, **labels) -> float:
    registry = CollectorRegistry()
    registry.register(TaskCollector())
    return registry.get_sample_value(name, labels) or 0.0


def finished(task, status: str, *, cost: str = "0.25") -> None:
    GenerationTask.objects.filter(pk=task.pk).update(status=status, finished_at=timezone.now(), input_tokens=1000,
                                                     output_tokens=400, actual_cost=Decimal(cost))


def test_a_retried_task_does_not_take_its_failure_back_from_the_counter(editor):
    task = submit_task(created_by=editor)
    finished(task, "failed")
    assert scraped("pressroom_tasks_finished_total", outcome="failed") == 1

    task_retry(task=task, by=editor)

    assert scraped("pressroom_tasks", status="failed") == 0  # the gauge says what is, now
    assert scraped("pressroom_tasks", status="queued") == 1
    assert scraped("pressroom_tasks_finished_total", outcome="failed") == 1  # it did fail, once
    assert scraped("pressroom_model_tokens_total", direction="input") == 1000

    finished(task, "failed")  # and fails again: a second failure
    assert scraped("pressroom_tasks_finished_total", outcome="failed") == 2


def test_a_deleted_task_keeps_its_outcome_tokens_and_cost_counted(editor):
    kept, deleted = submit_task(created_by=editor), submit_task(created_by=editor)
    finished(kept, "completed")
    finished(deleted, "completed", cost="0.5")
    before = {
        ("pressroom_tasks_finished_total", "completed"): scraped("pressroom_tasks_finished_total", outcome="completed"),
        ("pressroom_model_tokens_total", "output"): scraped("pressroom_model_tokens_total", direction="output"),
        ("pressroom_model_cost_total", None): scraped("pressroom_model_cost_total"),
    }
    assert before == {("pressroom_tasks_finished_total", "completed"): 2,
                      ("pressroom_model_tokens_total", "output"): 800, ("pressroom_model_cost_total", None): 0.75}

    task_delete(task=GenerationTask.objects.get(pk=deleted.pk), by=editor)

    assert scraped("pressroom_tasks", status="completed") == 1
    assert scraped("pressroom_tasks_finished_total", outcome="completed") == 2
    assert scraped("pressroom_model_tokens_total", direction="output") == 800
    assert scraped("pressroom_model_cost_total") == 0.75


def test_a_deleted_queued_task_keeps_what_it_spent_and_no_outcome(editor):
    task = submit_task(created_by=editor)
    finished(task, "failed")
    task_retry(task=task, by=editor)

    task_delete(task=GenerationTask.objects.get(pk=task.pk), by=editor)

    assert scraped("pressroom_tasks_finished_total", outcome="failed") == 1
    assert scraped("pressroom_tasks", status="queued") == 0
    assert scraped("pressroom_model_cost_total") == 0.25
