"""A wake-up job that succeeds leaves no django-q2 result; one that fails still does.

Every task is one wake-up job, and with a save limit django-q2's monitor reads and locks every
kept result to prune one, each time it saves a result: with the 1,000 the settings keep, as much
CPU per task as the worker that ran it (bench/kept_results.py). What a wake-up did is the task's own record. These run
the job's package, as the broker holds it, through django-q2's own monitor code.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Failure, OrmQ, Success
from django_q.monitor import save_task
from django_q.signing import SignedPackage

from tasks.services.queue import RUN_NEXT_TASK, enqueue_broker, enqueues_in_transaction, wake_workers


@pytest.fixture(autouse=True)
def _keep_the_tests_connection(monkeypatch):
    """The monitor closes its idle connection before it saves; here that connection holds the
    test's transaction."""
    monkeypatch.setattr("django_q.monitor.close_old_django_connections", lambda: None)


@pytest.fixture
def orm_broker(monkeypatch):
    """The ORM broker, whatever REDIS_URL says: the package is the same on either, and the ORM
    broker's table lets the test read it back."""
    monkeypatch.setattr(Conf, "ORM", "default")
    enqueue_broker.cache_clear()
    yield
    enqueue_broker.cache_clear()


@pytest.fixture
def wakeup_package(db, orm_broker):
    """The package of one wake-up job, read back from the ORM broker's queue."""
    assert enqueues_in_transaction()
    with transaction.atomic():
        wake_workers(1)
    package = SignedPackage.loads(OrmQ.objects.get().payload)
    assert package["func"] == RUN_NEXT_TASK
    now = timezone.now()
    return {**package, "started": now, "stopped": now}


def test_a_wake_up_is_enqueued_not_to_be_saved(wakeup_package):
    assert wakeup_package["save"] is False


def test_the_monitor_keeps_no_result_of_a_wake_up_that_succeeded(wakeup_package):
    save_task({**wakeup_package, "success": True, "result": 1}, get_broker())
    assert not Success.objects.exists()


def test_the_monitor_keeps_the_failure_of_a_wake_up(wakeup_package):
    save_task({**wakeup_package, "success": False, "result": "OperationalError: the server went away"}, get_broker())
    failure = Failure.objects.get()
    assert (failure.func, failure.result) == (RUN_NEXT_TASK, "OperationalError: the server went away")


@pytest.mark.django_db(transaction=True)
def test_a_wake_up_the_redis_broker_cannot_take_is_one_line_without_a_traceback(monkeypatch, caplog):
    """Redis away: each task created logged a traceback for its lost wake-up (the reconciler wakes
    a worker for it once Redis is back)."""
    import logging

    from redis.exceptions import ConnectionError as RedisConnectionError

    from tasks.services import queue

    def away(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(queue, "enqueues_in_transaction", lambda: False)
    monkeypatch.setattr(queue, "async_task", away)
    with caplog.at_level(logging.WARNING, logger="tasks.services.queue"):
        wake_workers()

    [line] = [record for record in caplog.records if record.name == "tasks.services.queue"]
    assert not line.exc_info and "ConnectionError: Error 111" in line.getMessage()
