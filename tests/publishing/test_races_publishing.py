"""A task published while someone deletes the category or a tag it names: the publication waits
for the deletion and makes the name again, instead of failing at commit on a deleted row (a 500)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from content.services.review import task_approve
from publishing.models import Category, Post, Tag
from publishing.services.posts import task_publish
from tests.editorial import completed_task


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _publish_while_this_connection_deletes(task, reviewer, delete):
    """Run `task_publish` on another connection while this one has run `delete()` and not yet
    committed; commit once the publication waits for this connection (or finished)."""
    ready = threading.Event()
    pid, outcome = [], []

    def publish():
        try:
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            ready.wait(timeout=10)
            outcome.append(task_publish(task=task, by=reviewer))
        except Exception as error:  # noqa: BLE001 - the test reports whatever happened
            outcome.append(error)
        finally:
            connection.close()

    other = threading.Thread(target=publish)
    with transaction.atomic():
        delete()
        other.start()
        ready.set()
        for _ in range(1000):  # at most 10 s: until the publication waits for the deletion
            other.join(0.01)
            if not other.is_alive() or (pid and _waiting_on_a_lock(pid[0])):
                break
    other.join(30)
    assert not other.is_alive()
    assert len(outcome) == 1
    return outcome[0]


@pytest.mark.django_db(transaction=True)
def test_publishing_while_its_category_is_deleted_makes_the_category_again(editor, reviewer):
    Category.objects.create(name="Gardening", slug="gardening")
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)

    outcome = _publish_while_this_connection_deletes(
        task, reviewer, lambda: Category.objects.filter(name="Gardening").delete())

    assert isinstance(outcome, Post), outcome
    post = Post.objects.select_related("category").get(task=task)
    assert post.is_public and post.category.name == "Gardening"


@pytest.mark.django_db(transaction=True)
def test_publishing_while_one_of_its_tags_is_deleted_makes_the_tag_again(editor, reviewer):
    Tag.objects.create(name="compost", slug="compost")
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)

    outcome = _publish_while_this_connection_deletes(task, reviewer, lambda: Tag.objects.filter(name="compost").delete())

    assert isinstance(outcome, Post), outcome
    assert sorted(Post.objects.get(task=task).tags.values_list("name", flat=True)) == ["compost", "soil"]
