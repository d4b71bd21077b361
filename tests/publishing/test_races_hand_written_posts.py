"""Hand-written posts changed by two people at once: the delete judges the post as it is stored,
under its row lock, not as the deleting person's page loaded it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from content.exceptions import PermissionDenied
from publishing.models import Post, PostChange
from publishing.services.posts import post_delete_by_person, post_save_by_person
from tasks.exceptions import NoLongerExists


def _draft(reviewer) -> Post:
    post = Post(title="Launch notes", slug="launch-notes", body="Draft text.")
    post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body"}, adding=True)
    return Post.objects.get(pk=post.pk)


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
def test_an_editor_cannot_delete_a_post_a_publisher_put_on_the_blog_while_the_delete_waited(editor, reviewer):
    """The editor's page loaded the draft; a publisher holds the post's row, publishing it. The
    delete waits for that row, then finds the post public: the editor may not delete it. Before,
    the delete checked the page's stale copy (not public), waited only at the DELETE, and removed a
    public post, its audit row saying it was deleted unpublished."""
    loaded_by_editor = _draft(reviewer)
    published = threading.Event()
    deleter_pid = []
    outcome = []

    def delete():
        try:
            connection.ensure_connection()
            deleter_pid.append(connection.connection.info.backend_pid)
            published.wait(timeout=10)  # set once the publisher holds the row
            post_delete_by_person(post=loaded_by_editor, by=editor)
            outcome.append("deleted")
        except Exception as error:  # noqa: BLE001 - the test reports whatever happened
            outcome.append(error)
        finally:
            connection.close()

    deleter = threading.Thread(target=delete)
    with transaction.atomic():  # the publisher's request, on the main thread's connection
        post = Post.objects.select_for_update().get(pk=loaded_by_editor.pk)
        post.published_at = timezone.now()
        post_save_by_person(post=post, by=reviewer, changed={"published_at"}, adding=False)
        deleter.start()
        published.set()
        for _ in range(1000):  # until the delete waits for the publisher's row lock, or it finished
            deleter.join(0.01)
            if not deleter.is_alive() or (deleter_pid and _waiting_on_a_lock(deleter_pid[0])):
                break
    deleter.join(30)

    assert not deleter.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], PermissionDenied), outcome
    assert Post.objects.get(pk=post.pk).is_public
    assert list(PostChange.objects.filter(post_id=post.pk).order_by("created_at").values_list("kind", flat=True)) == [
        "created", "published"]


@pytest.mark.django_db
def test_deleting_a_post_someone_else_deleted_meanwhile_says_so_and_records_one_deletion(reviewer):
    """Two people's pages show the same post and both press Delete: the second finds it gone. Before,
    it succeeded silently and the trail recorded the post deleted twice."""
    first_page = _draft(reviewer)
    second_page = Post.objects.get(pk=first_page.pk)
    post_delete_by_person(post=first_page, by=reviewer)

    with pytest.raises(NoLongerExists, match="deleted meanwhile"):
        post_delete_by_person(post=second_page, by=reviewer)
    assert list(PostChange.objects.filter(post_id=first_page.pk).values_list("kind", flat=True)).count("deleted") == 1
