"""Migrations that run while the site serves hold no lock for longer than one batch.

Measured on 100,000 posts (docs/reliability.md row 33): publishing 0005 and 0007 kept the post
table locked against every read while they filled the search vectors and built their indexes in
one transaction (38 s and 24 s), and 0006 and 0012 kept every post they derived again locked
against editors' saves until the last was done (99 s and 7 s). Here the migration is made to
dawdle on one post (a trigger that sleeps on its update) while another connection does what the
blog or an editor does, with a `lock_timeout` that only a migration holding its locks for the
whole run can exceed. Each test goes back with Django's `MigrationExecutor`, comes forward over
the migration under watch, and always forward to the end afterwards."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import offline_model
from tests.seed import ensure_seed_data

pytestmark = pytest.mark.slow

SLEEP = 2.0


def migrate_to(*targets) -> None:
    MigrationExecutor(connection).migrate(list(targets))


def migrate_forward() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@contextmanager
def dawdling_on(nth: int):
    """The `nth` update of a post from now on takes SLEEP seconds (a trigger counting updates with
    a sequence, which no rollback winds back), whichever post it is."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE pressroom_test_dawdle_count")
        cursor.execute(f"""
            CREATE FUNCTION pressroom_test_dawdle() RETURNS trigger AS $$
            BEGIN
                IF nextval('pressroom_test_dawdle_count') = {nth} THEN PERFORM pg_sleep({SLEEP}); END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        cursor.execute("CREATE TRIGGER pressroom_test_dawdle BEFORE UPDATE ON publishing_post FOR EACH ROW "
                       "EXECUTE FUNCTION pressroom_test_dawdle()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS pressroom_test_dawdle ON publishing_post")
            cursor.execute("DROP FUNCTION IF EXISTS pressroom_test_dawdle()")
            cursor.execute("DROP SEQUENCE IF EXISTS pressroom_test_dawdle_count")


def while_it_dawdles(sql: str, params=()) -> dict:
    """Run `sql` from another connection, with a lock timeout of half a second, once this
    session sleeps in the trigger; returns {"error": …} or {"seconds": …}."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings = connection.settings_dict
    outcome = {}

    def probe():
        with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                             password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True) as other:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                sleeping = other.execute("SELECT wait_event FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
                if sleeping and sleeping[0] == "PgSleep":
                    break
                time.sleep(0.02)
            else:
                outcome["error"] = "the migration never reached the post it dawdles on"
                return
            other.execute("SET lock_timeout = '500ms'")
            started = time.monotonic()
            try:
                other.execute(sql, params)
            except psycopg.errors.LockNotAvailable as refused:
                outcome["error"] = str(refused)
            else:
                outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=probe)
    thread.start()
    return {"thread": thread, "outcome": outcome}


def posts_of_tasks(count: int) -> list[uuid.UUID]:
    """`count` published posts made from tasks (with formatted versions) whose stored body is
    stale, so deriving it again rewrites every one; their ids, in the order of the batches."""
    from content.models import ContentVersion
    from publishing.models import Post
    from tasks.models import GenerationTask

    ensure_seed_data()
    model, now = offline_model(), timezone.now()
    ids = sorted(uuid.uuid4() for _ in range(count))
    tasks = GenerationTask.objects.bulk_create(
        [GenerationTask(topic=f"Topic {n}", model=model, status="completed", finished_at=now) for n in range(count)])
    versions = ContentVersion.objects.bulk_create(
        [ContentVersion(task=task, number=1, phase="format", title=f"Post {n}", body=f"Paragraph {n}.",
                        body_html=f"<p>Paragraph {n}.</p>") for n, task in enumerate(tasks)])
    Post.objects.bulk_create(
        [Post(id=pk, title=f"Post {n}", slug=f"post-{n}", body=f"Paragraph {n}.", body_html="stale", task=task,
              version=version, published_at=now) for n, (pk, task, version) in enumerate(zip(ids, tasks, versions))])
    return ids


@pytest.mark.parametrize("back_to, under_watch", [
    ("0004_post_publication_fields_and_changes", "0005_post_search_vector"),
    ("0006_post_body_without_title", "0007_search_at_scale"),
])
def test_the_blog_reads_posts_while_search_vectors_are_filled(transactional_db, back_to, under_watch):
    posts = posts_of_tasks(3)
    try:
        migrate_to(("publishing", back_to))
        with dawdling_on(1):
            watch = while_it_dawdles("SELECT count(*) FROM publishing_post WHERE published_at IS NOT NULL")
            migrate_to(("publishing", under_watch))
            watch["thread"].join()
    finally:
        migrate_forward()
    assert "error" not in watch["outcome"], watch["outcome"]


@pytest.mark.parametrize("back_to, under_watch", [
    ("0005_post_search_vector", "0006_post_body_without_title"),
    ("0011_slugs_in_any_script", "0012_rederive_body_html"),
])
def test_an_editor_saves_a_post_while_bodies_are_derived_again(transactional_db, back_to, under_watch):
    """More than one batch (500) of posts; while the migration dawdles on the 501st it rewrites,
    the first 500 by id (the first batch) are saved by someone else."""
    posts = posts_of_tasks(501)
    try:
        migrate_to(("publishing", back_to))
        with dawdling_on(501):
            watch = while_it_dawdles("UPDATE publishing_post SET updated_at = now() WHERE id = ANY(%s)", [posts[:500]])
            migrate_to(("publishing", under_watch))
            watch["thread"].join()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM publishing_post WHERE body_html = 'stale'")
            assert cursor.fetchone()[0] == 0
    finally:
        migrate_forward()
    assert "error" not in watch["outcome"], watch["outcome"]
