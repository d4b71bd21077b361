"""The read replica: the public blog's and public API's reads go to it, everything else to the primary.

The test settings give the test database a second alias, `replica` (tests/settings.py); a test turns
the router on by naming it in DATABASE_READ_REPLICA. Both aliases are separate connections, so the
statements captured on each show where every read and write went. The tests are transactional:
rows written through the primary are committed, as a replica would receive them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, transaction
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.db_router import PrimaryReplicaRouter, public_reads
from publishing import caching
from publishing.models import Category, Post
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def replica(settings):
    """The router on, with a replica that has caught up as soon as anything changed."""
    settings.DATABASE_READ_REPLICA = "replica"
    settings.DATABASE_REPLICA_LAG_SECONDS = 0
    caches["blog_pages"].clear()
    yield
    caches["blog_pages"].clear()


@pytest.fixture
def published(db):
    category = Category.objects.create(name="Gardening", slug="gardening")
    return Post.objects.create(
        title="Composting at home", slug="composting", body="Compost turns scraps into soil.",
        excerpt="Scraps into soil.", category=category, published_at=timezone.now(),
    )


class Captured:
    """The statements each alias ran while the block was open."""

    def __enter__(self):
        self.contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in ("default", "replica")}
        for context in self.contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc):
        for context in self.contexts.values():
            context.__exit__(*exc)

    def sql(self, alias: str) -> list[str]:
        return [query["sql"] for query in self.contexts[alias].captured_queries]

    def touching(self, alias: str, table_prefix: str) -> list[str]:
        return [sql for sql in self.sql(alias) if f'"{table_prefix}' in sql]


PUBLIC_READS = [
    "/", "/posts/composting/", "/category/gardening/", "/search/?q=compost", "/feeds/rss/", "/feeds/atom/",
    "/sitemap.xml", "/api/posts", "/api/posts/composting", "/api/posts/search?q=compost",
]


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_public_blog_and_api_reads_go_to_the_replica(replica, published, path):
    with Captured() as captured:
        response = Client().get(path)
    assert response.status_code == 200, response.content[:500]
    assert captured.touching("replica", "publishing_post"), captured.sql("replica")
    assert captured.touching("default", "publishing_") == []


def test_public_reads_go_to_the_replica_under_asgi_too(replica, published):
    """Daphne runs sync views in a thread: the request's flag must reach it."""
    with Captured() as captured:
        response = async_to_sync(AsyncClient().get)("/posts/composting/")
    assert response.status_code == 200
    assert captured.touching("replica", "publishing_post")
    assert captured.touching("default", "publishing_") == []


def test_without_a_replica_every_read_uses_the_primary(settings, published):
    settings.DATABASE_READ_REPLICA = None
    caches["blog_pages"].clear()
    with Captured() as captured:
        assert Client().get("/posts/composting/").status_code == 200
        assert Client().get("/api/posts").status_code == 200
    assert captured.sql("replica") == []
    assert captured.touching("default", "publishing_post")


def test_admin_task_api_and_publishing_use_only_the_primary(replica, reviewer_client, editor, client, reviewer):
    task = completed_task(created_by=editor)
    client.force_login(reviewer)
    with Captured() as captured:
        assert client.get("/admin/publishing/post/").status_code == 200
        assert client.get(f"/admin/tasks/generationtask/{task.pk}/change/").status_code == 200
        assert reviewer_client.get("/api/tasks").status_code == 200
        assert reviewer_client.get(f"/api/tasks/{task.pk}").status_code == 200
        assert reviewer_client.post(f"/api/tasks/{task.pk}/approve", {"approved": True}).status_code == 200
        assert reviewer_client.post(f"/api/tasks/{task.pk}/publish", {}).status_code == 200
    assert captured.sql("replica") == []
    assert captured.touching("default", "publishing_post")


def test_a_writer_reads_the_primary_until_the_replica_has_caught_up(settings, replica, published):
    """A change starts a new blog version; younger than the lag allowance, it keeps reads on the primary."""
    settings.DATABASE_REPLICA_LAG_SECONDS = 30
    Post.objects.create(title="Just published", slug="just-published", published_at=timezone.now())
    with Captured() as captured:
        response = Client().get("/posts/just-published/")
    assert response.status_code == 200 and b"Just published" in response.content
    assert captured.sql("replica") == []

    version = caching.blog_version()
    caches["default"].set(caching.VERSION_KEY, {**version, "since": int(time.time()) - 31}, timeout=None)
    caches["blog_pages"].clear()
    with Captured() as captured:
        assert Client().get("/posts/just-published/").status_code == 200
    assert captured.touching("replica", "publishing_post")


def test_a_change_between_the_replica_choice_and_the_page_cache_is_not_cached_as_current(
        settings, replica, published, monkeypatch):
    """The blog changes after a request chose the replica and before its page is cached: the page,
    read from a replica that may lack the change, is kept under the version the choice was made by,
    not the new one, so the next reader gets a page rendered after the change."""
    settings.DATABASE_REPLICA_LAG_SECONDS = 30
    version = caching.blog_version()
    caches["default"].set(caching.VERSION_KEY, {**version, "since": int(time.time()) - 31}, timeout=None)

    def answers_and_then_the_blog_changes(alias):
        caching.bump_blog_version()
        return True

    monkeypatch.setattr("publishing.replica.replica_answers", answers_and_then_the_blog_changes)
    with Captured() as captured:
        first = Client().get("/posts/composting/")
    assert first.status_code == 200 and captured.touching("replica", "publishing_post")
    monkeypatch.undo()

    with Captured() as captured:
        second = Client().get("/posts/composting/")
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    assert captured.touching("default", "publishing_post"), "the replica's page was served under the new version"


def test_reads_inside_a_transaction_on_the_primary_stay_there(replica, published):
    with Captured() as captured, public_reads():
        assert Post.objects.count() == 1  # outside a transaction: the replica
        with transaction.atomic():
            Post.objects.filter(pk=published.pk).update(title="Renamed")
            assert Post.objects.get(pk=published.pk).title == "Renamed"
    assert len(captured.touching("replica", "publishing_post")) == 1
    assert len(captured.touching("default", "publishing_post")) == 2


def test_writes_sessions_and_the_cache_table_never_use_the_replica(replica):
    router = PrimaryReplicaRouter()
    from django.contrib.sessions.models import Session

    with public_reads():
        assert router.db_for_read(Post) == "replica"
        assert router.db_for_write(Post) == "default"
        assert router.db_for_read(Session) == "default"
        cache_table = DatabaseCache("pressroom_cache", {}).cache_model_class
        assert router.db_for_read(cache_table) == "default"  # the blog's version is read where it is written
    assert router.db_for_read(Post) == "default"  # the flag ended with the block
    assert router.allow_migrate("replica", "publishing") is False
    assert router.allow_migrate("default", "publishing") is True


def test_database_replica_url_adds_the_replica_alias():
    code = ("from django.conf import settings as s; d = s.DATABASES['replica']; "
            "print(s.DATABASE_READ_REPLICA, d['NAME'], d['HOST'], d['PORT'])")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_REPLICA_URL": "postgresql://reader@replica.internal:5433/pressroom"}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["replica", "pressroom", "replica.internal", "5433"]


@pytest.fixture
def replica_database(published):
    """A second database on the test server, named by the URL this yields: a copy of the test
    database in which the post has another title, as a replica that has not received a write."""
    import psycopg

    from tests.processes import test_database_url

    primary_url = test_database_url()
    primary_name = connections["default"].settings_dict["NAME"]
    replica_name = f"{primary_name}_replica"
    server_url = primary_url.replace(f"/{primary_name}", "/postgres", 1)
    replica_url = primary_url.replace(f"/{primary_name}", f"/{replica_name}", 1)
    connections.close_all()  # a template database must have no other session
    with psycopg.connect(server_url, autocommit=True) as admin:
        # ... including the event broadcaster's pool (PostgreSQL layer) of earlier tests here.
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [primary_name])
        admin.execute(f'DROP DATABASE IF EXISTS "{replica_name}"')
        admin.execute(f'CREATE DATABASE "{replica_name}" TEMPLATE "{primary_name}"')
    try:
        with psycopg.connect(replica_url, autocommit=True) as replica_db:
            replica_db.execute("UPDATE publishing_post SET title = 'Title on the replica' WHERE slug = 'composting'")
        yield replica_url
    finally:
        connections.close_all()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{replica_name}" WITH ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE IF EXISTS "{replica_name}" WITH (FORCE)')


def _page(server, path: str) -> str:
    with urlopen(f"{server.url}{path}", timeout=10) as response:
        return response.read().decode()


@pytest.mark.slow
def test_a_gunicorn_with_database_replica_url_reads_the_blog_from_a_different_database(tmp_path, replica_database):
    """The deployment's shape: a second database named by DATABASE_REPLICA_URL to a Gunicorn. Blog
    and public API show the replica's rows; right after a change, the primary's; once the lag
    allowance has passed, the replica's again."""
    from tests.processes import GunicornServer

    server = GunicornServer(tmp_path, name="gunicorn-replica", port=18530, env={
        "DATABASE_REPLICA_URL": replica_database, "DATABASE_REPLICA_LAG_SECONDS": "3"})
    try:
        server.wait_until_ready()
        time.sleep(3)  # the blog version of the post's creation is older than the allowance now

        assert "Title on the replica" in _page(server, "/posts/composting/")
        assert "Title on the replica" in _page(server, "/api/posts/composting")
        assert "Title on the replica" in _page(server, "/api/posts")

        post = Post.objects.get(slug="composting")  # through the primary, as an editor's change
        post.title = "Title on the primary"
        post.save()
        assert "Title on the primary" in _page(server, "/posts/composting/")  # the writer sees the change at once
        time.sleep(3.5)
        # The allowance passed: reads are on the replica again, which (not replicating) never got it.
        # (The post page rendered from the primary stays in the page cache under this version: it
        # is the newer content, which a replicating replica holds by now.)
        assert "Title on the replica" in _page(server, "/")
        assert "Title on the replica" in _page(server, "/api/posts/composting")
    finally:
        server.stop()


@pytest.mark.slow
def test_a_gunicorn_whose_replica_goes_down_serves_the_blog_from_the_primary_then_returns_to_it(
        tmp_path, replica_database):
    """The replica refuses connections and its sessions are cut (kept connections die mid-use, as
    at a replica's restart): every public page still answers 200, from the primary, the outage is
    logged once, and once the replica is back the process reads from it again after the retry
    window."""
    import psycopg

    from publishing.replica import REPLICA_RETRY_SECONDS
    from tests.processes import GunicornServer

    replica_name = replica_database.rsplit("/", 1)[1].split("?")[0]
    admin_url = replica_database.replace(f"/{replica_name}", "/postgres", 1)
    server = GunicornServer(tmp_path, name="gunicorn-replica-down", env={
        "DATABASE_REPLICA_URL": replica_database, "DATABASE_REPLICA_LAG_SECONDS": "1",
        "DATABASE_CONN_MAX_AGE": "60", "PRESSROOM_BLOG_CACHE_SECONDS": "0"})
    try:
        server.wait_until_ready()
        time.sleep(1.5)  # past the lag allowance of the post's creation
        assert "Title on the replica" in _page(server, "/posts/composting/")  # the kept replica connection is open

        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{replica_name}" WITH ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [replica_name])
        for path in ["/posts/composting/", "/api/posts/composting", "/", "/api/posts", "/feeds/rss/"] * 2:
            assert "Composting at home" in _page(server, path), path  # the primary's title; urlopen raises on a 500
        assert server.output.count("The read replica does not answer") == 1, server.output[-3000:]

        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{replica_name}" WITH ALLOW_CONNECTIONS true')
        assert "Composting at home" in _page(server, "/posts/composting/")  # still within the retry window
        time.sleep(REPLICA_RETRY_SECONDS + 0.5)
        assert "Title on the replica" in _page(server, "/posts/composting/")
        assert "Title on the replica" in _page(server, "/api/posts")
    finally:
        server.stop()


@pytest.fixture
def replica_state():
    """The process's replica-down marker, cleared before and after the test."""
    from publishing import replica as replica_module

    replica_module._replica_down_until = 0.0
    yield replica_module
    replica_module._replica_down_until = 0.0
    connections["replica"].close()


def test_public_reads_use_the_primary_while_the_replica_cannot_be_reached(
        replica, published, replica_state, monkeypatch, caplog):
    from tests.processes import free_port

    connections["replica"].close()
    monkeypatch.setitem(connections["replica"].settings_dict, "PORT", str(free_port()))  # nothing listens
    for path in ("/posts/composting/", "/api/posts", "/category/gardening/"):
        with CaptureQueriesContext(connections["default"]) as on_primary:
            response = Client().get(path)
        assert response.status_code == 200, response.content[:500]
        assert b"Composting at home" in response.content
        assert [q for q in on_primary.captured_queries if '"publishing_post' in q["sql"]], path
    assert time.monotonic() < replica_state._replica_down_until  # tried again only after the window
    assert [r.message for r in caplog.records if "read replica" in r.message][:1], "the outage is logged"
    assert len([r for r in caplog.records if "read replica" in r.message]) == 1, "once per outage"

    monkeypatch.undo()
    replica_state._replica_down_until = 0.0  # the window has passed
    caches["blog_pages"].clear()
    with Captured() as captured:
        assert Client().get("/posts/composting/").status_code == 200
    assert captured.touching("replica", "publishing_post"), "back on the replica once it answers"


@pytest.mark.parametrize("path", ["/posts/composting/", "/", "/api/posts", "/feeds/rss/"])
def test_a_public_view_that_loses_the_replica_mid_request_is_served_from_the_primary(
        replica, published, replica_state, path):
    import psycopg

    def replica_gone(execute, sql, params, many, context):
        if '"publishing_' in sql:
            with connections["replica"].wrap_database_errors:  # as a failing query on it is reported
                raise psycopg.OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    connections["replica"].ensure_connection()
    with connections["replica"].execute_wrapper(replica_gone), Captured() as captured:
        response = Client().get(path)
    assert response.status_code == 200, response.content[:500]
    assert b"Composting at home" in response.content
    assert captured.touching("default", "publishing_post")
    assert time.monotonic() < replica_state._replica_down_until


def test_a_connection_error_that_did_not_come_through_the_replica_is_left_to_django(replica, replica_state, rf):
    """A public request whose primary fails (the cache table, a session) is not a replica outage:
    nothing is run again and the replica stays in use."""
    from django.db import OperationalError

    from publishing.replica import PublicReadsMiddleware

    middleware = PublicReadsMiddleware(lambda request: None)
    connections["replica"].errors_occurred = False
    with public_reads(True):
        assert middleware.process_exception(rf.get("/posts/composting/"), OperationalError("primary gone")) is None
    assert replica_state._replica_down_until == 0.0
