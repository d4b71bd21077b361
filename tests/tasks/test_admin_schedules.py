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


# What django-q2's scheduler reads from a schedule, as it reads it (django_q/scheduler.py): it takes
# every due schedule in one transaction, and a schedule it cannot read raised out of that loop,
# so that no schedule ran any more (the reconciler, scheduled publications, digests), every 30 s.
@pytest.mark.parametrize(("field", "value"), [
    ("args", "hello"),  # a name, not a literal: ValueError
    ("args", "(1,"),  # SyntaxError
    ("args", "(" * 300 + ")" * 300),  # too many nested parentheses
    ("args", "-" * 100_000 + "1"),  # MemoryError from the parser
    ("args", "1" * 5000),  # more digits than Python reads
    ("kwargs", "1"),  # a literal, but no dict: AttributeError on .get
    ("kwargs", "'x'"),
    ("kwargs", "[('a', 1)]"),
    ("kwargs", "{1: 2}"),  # keys that are not names: TypeError in async_task
    ("kwargs", "{'q_options': 5}"),  # q_options that is no dict: TypeError
    ("kwargs", "q_options=[1]"),
    ("kwargs", "a=1), (b"),  # parses as a tuple, not a call: AttributeError
    ("kwargs", "**{'a': 1}"),  # a keyword without a name
    ("kwargs", "a=b"),  # not a literal: the scheduler dropped every keyword silently
    ("kwargs", "1, a=2"),  # a positional value in the keyword form: dropped silently
    ("kwargs", "a=" + "-" * 100_000 + "1"),
])
def test_arguments_the_scheduler_cannot_read_are_a_form_error_and_nothing_is_saved(client, field, value):
    response = client.post(ADD, form(**{field: value}))

    assert response.status_code == 200, response.status_code
    assert "the scheduler" in response.content.decode()
    assert not Schedule.objects.filter(name="Nightly reconcile").exists()


@pytest.mark.parametrize(("args", "kwargs", "expected_args", "expected_kwargs"), [
    ("", "", (), {}),
    ("(1, 'a')", "{'x': 1}", (1, "a"), {"x": 1}),
    ("7", "x=1, y='a'", (7,), {"x": 1, "y": "a"}),
    ("[1, 2]", "{'q_options': {'task_name': 'nightly'}}", ([1, 2],), {}),
])
def test_the_scheduler_hands_on_the_arguments_the_form_saved(client, monkeypatch, args, kwargs, expected_args,
                                                             expected_kwargs):
    from django.utils import timezone
    from django_q import scheduler as django_q_scheduler

    response = client.post(ADD, form(args=args, kwargs=kwargs))
    assert response.status_code == 302, response.content.decode()[:3000]
    Schedule.objects.filter(name="Nightly reconcile").update(next_run=timezone.now())
    sent = []
    monkeypatch.setattr(django_q_scheduler, "async_task", lambda func, *args, **kwargs: sent.append((func, args, kwargs)))
    monkeypatch.setattr(django_q_scheduler, "close_old_django_connections", lambda: None)  # the test's transaction

    django_q_scheduler.scheduler()

    [(func, sent_args, sent_kwargs)] = [call for call in sent if call[2]["q_options"]["group"] == "Nightly reconcile"]
    assert func == "tasks.jobs.reconcile" and sent_args == expected_args
    assert {name: value for name, value in sent_kwargs.items() if name != "q_options"} == expected_kwargs


def test_a_cron_schedule_is_a_form_error_while_croniter_is_not_installed(client):
    response = client.post(ADD, form(schedule_type="C"))  # the admin shows the cron field read-only then

    assert response.status_code == 200, response.status_code  # was a 500: saving raised ImportError
    assert "croniter" in response.content.decode()
    assert not Schedule.objects.filter(name="Nightly reconcile").exists()


@pytest.mark.parametrize(("tz", "schedule_type", "day", "time"), [
    ("America/New_York", "O", "9999-12-31", "23:00:00"),  # year 10000 in UTC
    ("America/New_York", "Y", "9999-12-31", "23:00:00"),
    ("Europe/Berlin", "O", "0001-01-01", "00:00:00"),  # year 0 in UTC, and due at once
    ("Europe/Berlin", "D", "9999-12-31", "12:00:00"),  # in range in UTC, year 10000 in Kiritimati
])
def test_a_next_run_no_time_zone_can_show_is_a_form_error_and_nothing_is_saved(client, settings, tz, schedule_type,
                                                                                 day, time):
    """Found by a date sweep: PostgreSQL stored a next run that Python cannot read back, and every
    read of the schedules failed: their admin list (a 500), and the cluster's scheduler, which reads
    the due ones every tick (a year-0 one was due at once)."""
    settings.TIME_ZONE = tz

    response = client.post(ADD, form(schedule_type=schedule_type, next_run_0=day, next_run_1=time))

    assert response.status_code == 200, response.status_code
    assert "next_run" in response.context["adminform"].form.errors
    settings.TIME_ZONE = "Pacific/Kiritimati"
    assert not Schedule.objects.filter(name="Nightly reconcile").exists()


@pytest.mark.parametrize(("schedule_type", "minutes", "day"), [
    ("I", "1", "0001-01-02"),  # a billion one-minute steps: the cluster's sentinel busy for the better part of an hour
    ("H", "", "0001-01-02"),
    ("D", "", "1900-01-01"),
])
def test_a_repeating_schedule_whose_next_run_lies_too_many_runs_back_is_a_form_error(client, schedule_type, minutes,
                                                                                      day):
    response = client.post(ADD, form(schedule_type=schedule_type, minutes=minutes, next_run_0=day))

    assert response.status_code == 200, response.status_code
    assert "runs in the past" in response.content.decode()
    assert not Schedule.objects.filter(name="Nightly reconcile").exists()


@pytest.mark.parametrize(("schedule_type", "repeats", "day"), [
    ("I", "-1", "2026-12-01"),  # a few thousand minutes back: caught up at once
    ("O", "-1", "0001-01-02"),  # runs once, however late (the earliest day every zone can show)
    ("I", "0", "0001-01-02"),  # repeats no more: the scheduler leaves it alone
])
def test_a_next_run_the_scheduler_reaches_at_once_is_saved(client, schedule_type, repeats, day):
    response = client.post(ADD, form(schedule_type=schedule_type, minutes="1", repeats=repeats, next_run_0=day))

    assert response.status_code == 302, response.content.decode()[:3000]
