"""What one POST /api/tasks costs in round trips: task creation is the API's busiest write.

A create authenticates a JWT, checks the role and the throttle, stores the task with its first
event and wake-up job, and answers with the task. These tests pin that it does so on the
request's own database connection (no new one per create), in a bounded number of statements,
with the ORM broker's wake-up job committed in the task's own transaction, and, with Redis as the
broker, without a new Redis connection per create.
"""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf
from django_q.models import OrmQ
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tasks.models import GenerationTask
from tasks.services.queue import enqueue_broker
from tests.tasks.task_api import BRIEF

# With the database cache (the default without Redis): the user, the role's permissions, the
# throttle's read and write, the default model, then BEGIN, the user's budget limit (read in the
# statement that keeps the model and the creator from deletion until commit), the task (inserted
# with its first event's sequence number), its first event, the wake-up job and COMMIT. Before: 19,
# and two new connections. Django's cache spent five statements on each throttle write, Django's
# permission backend two queries, the answer looked up a post the new task cannot have, and the
# first event reserved its sequence number with an UPDATE of the row just inserted.
STATEMENTS_PER_CREATE_MAX = 11

DATABASE_CACHE = {
    "BACKEND": "config.cache.PostgresDatabaseCache", "LOCATION": "pressroom_cache",
    "KEY_FUNCTION": "config.cache.storable_key",
}


@pytest.fixture
def jwt_client(editor) -> APIClient:
    """A client that authenticates as API clients do, with a bearer token checked per request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(editor)}")
    return client


@pytest.fixture
def broker(monkeypatch):
    """Select the broker (`orm` or `redis`) as settings would; the process's broker is rebuilt."""

    def use(kind: str) -> None:
        if kind == "orm":
            monkeypatch.setattr(Conf, "ORM", "default")
        else:
            monkeypatch.setattr(Conf, "ORM", None)
            monkeypatch.setattr(Conf, "REDIS", settings.REDIS_URL)
        enqueue_broker.cache_clear()

    yield use
    enqueue_broker.cache_clear()


@pytest.fixture
def new_connections():
    """How many database connections were opened since the fixture started."""
    opened = []

    def count(sender, connection, **kwargs):
        opened.append(connection.alias)

    connection_created.connect(count)
    yield opened
    connection_created.disconnect(count)


def post_brief(client: APIClient, number: int):
    response = client.post("/api/tasks", {**BRIEF, "title": f"Cost {number}"}, format="json")
    assert response.status_code == 201, response.content
    return response


@pytest.mark.django_db(transaction=True)  # so that commits happen as they do in production
def test_a_create_uses_the_requests_connection_and_commits_its_wakeup_with_the_task(
    jwt_client, broker, new_connections, settings
):
    settings.CACHES = {**settings.CACHES, "default": DATABASE_CACHE}
    broker("orm")
    post_brief(jwt_client, 1)  # the first request fills per-process caches (content types, fields)
    new_connections.clear()

    with CaptureQueriesContext(connection) as queries:
        post_brief(jwt_client, 2)

    assert new_connections == [], "the wake-up's enqueue closed the request's connection and opened another"
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= STATEMENTS_PER_CREATE_MAX, "\n".join(statements)
    wakeup = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "django_q_ormq"'))
    task = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "tasks_generationtask"'))
    commits = [i for i, sql in enumerate(statements) if sql == "COMMIT"]
    assert any(task < wakeup < commit for commit in commits), "the wake-up job is not in the task's transaction"
    assert OrmQ.objects.filter(key=Conf.CLUSTER_NAME).count() == GenerationTask.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_create_that_fails_after_enqueueing_leaves_no_wakeup_job_behind(jwt_client, broker, monkeypatch):
    broker("orm")
    from tasks.services import lifecycle

    wake_workers = lifecycle.wake_workers

    def wake_then_fail(*args, **kwargs):
        wake_workers(*args, **kwargs)
        raise RuntimeError("failed after the wake-up was enqueued")

    monkeypatch.setattr(lifecycle, "wake_workers", wake_then_fail)
    with pytest.raises(RuntimeError):
        jwt_client.post("/api/tasks", BRIEF, format="json")

    assert GenerationTask.objects.count() == 0
    assert OrmQ.objects.count() == 0


@pytest.mark.skipif(not settings.REDIS_URL, reason="Redis is the broker only with REDIS_URL set")
@pytest.mark.django_db
def test_with_the_redis_broker_creates_open_no_new_redis_connection(
    jwt_client, broker, monkeypatch, django_capture_on_commit_callbacks
):
    broker("redis")
    queue = enqueue_broker().list_key
    with django_capture_on_commit_callbacks(execute=True):
        post_brief(jwt_client, 1)  # connects the throttle's cache and the broker
    client = redis.Redis.from_url(settings.REDIS_URL)
    waiting = client.llen(queue)
    opened = []
    make_connection = redis.connection.ConnectionPool.make_connection

    def counting_make_connection(self, *args, **kwargs):
        opened.append(self)
        return make_connection(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.ConnectionPool, "make_connection", counting_make_connection)
    try:
        for number in (2, 3):
            with django_capture_on_commit_callbacks(execute=True):
                post_brief(jwt_client, number)
        assert client.llen(queue) == waiting + 2
    finally:
        client.delete(queue)
        client.close()
    assert opened == [], "a new Redis connection per create"
