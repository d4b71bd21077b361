"""The schedules' admin (tasks/admin_schedules.py): a schedule runs a function that can be imported."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_q.models import Schedule

pytestmark = pytest.mark.django_db

ADD = reverse("admin:django_q_schedule_add")


def form(**overrides) -> dict:
    data = {"name": "Nightly reconcile", "func": "tasks.jobs.reconcile", "hook": "", "args": "", "kwargs": "",
            "schedule_type": "D", "minutes": "", "repeats": "-1", "next_run_0": "2026-12-05", "next_run_1": "03:00:00",
            "cron": "", "cluster": "", "intended_date_kind": ""}
    data.update(overrides)
    return data


@pytest.fixture
def client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(("func", "message"), [
    ("\x01\x02", "as a dotted path"),
    ("\u202eevil.job", "as a dotted path"),
    ("javascript:alert(1)", "as a dotted path"),
    ('{"a": "\u0000"}', "Null characters are not allowed."),
    ("reconcile", "as a dotted path"),
    ("tasks.jobs.no_such_job", "No function tasks.jobs.no_such_job can be imported."),
    ("no_such_package.job", "No function no_such_package.job can be imported."),
    ("tasks.jobs.MAX_TASKS_PER_JOB", "tasks.jobs.MAX_TASKS_PER_JOB is not a function."),
])
def test_a_function_that_cannot_run_is_a_form_error_and_nothing_is_saved(client, func, message):
    response = client.post(ADD, form(func=func))

    assert response.status_code == 200 and message in response.content.decode()
    assert not Schedule.objects.filter(name="Nightly reconcile").exists()


def test_a_hook_is_held_to_the_same_rule(client):
    response = client.post(ADD, form(hook="tasks.jobs.nope"))

    assert response.status_code == 200 and "No function tasks.jobs.nope can be imported." in response.content.decode()


def test_an_importable_function_is_saved(client):
    response = client.post(ADD, form())

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Schedule.objects.get(name="Nightly reconcile").func == "tasks.jobs.reconcile"
