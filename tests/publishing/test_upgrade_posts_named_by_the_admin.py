"""The post admin of the releases before publishing 0004 (2026-11-28 to 11-30) let a person name
any task and version on a post: two posts could name one task, and a post could name a task but
no version. Upgrading such a database stopped on publishing 0004's `post_one_per_task` and on
0015's `post_of_a_task_names_its_version` (an IntegrityError, `migrate` stuck); now the extra posts
become hand-written ones that keep printing their own body, and `migrate` names them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from publishing.models import Post
from tests.upgrades import database_at, migrate_to

# The migrations of 63dd64a (2026-11-28 18:29), the last commit of the first day.
BEFORE_0004 = [("tasks", "0004_reconcile_schedule"), ("content", "0003_version_output_fields"),
               ("publishing", "0003_sync_groups_checkpoints")]


def _task_with_version(apps, topic: str):
    Catalog = apps.get_model("tasks", "ModelCatalogEntry")
    offline, _ = Catalog.objects.get_or_create(key="offline", defaults={
        "display_name": "Offline writer (built in)", "provider": "offline", "provider_model_id": "offline"})
    task = apps.get_model("tasks", "GenerationTask").objects.create(
        topic=topic, model=offline, status="completed", finished_at=timezone.now(), approval_status="approved")
    version = apps.get_model("content", "ContentVersion").objects.create(
        task=task, number=1, phase="format", title=topic, body=f"{topic}, as the model wrote it.")
    return task, version


@pytest.mark.slow
def test_two_posts_naming_one_task_upgrade_with_one_keeping_it(transactional_db, capsys):
    with database_at(*BEFORE_0004) as old:
        task, version = _task_with_version(old, "Compost")
        Post = old.get_model("publishing", "Post")
        published = timezone.now() - dt.timedelta(days=1)
        Post.objects.create(task=task, version=version, title="Compost", slug="compost", body=version.body,
                            published_at=published)
        Post.objects.create(task=task, title="Compost, again", slug="compost-again",
                            body="A person's own text about compost.", published_at=published)
        migrate_to()

    assert Post.objects.count() == 2
    kept, extra = Post.objects.get(slug="compost"), Post.objects.get(slug="compost-again")
    assert (kept.task_id, kept.version_id) == (task.pk, version.pk)
    assert (extra.task_id, extra.version_id) == (None, None)
    assert "own text about compost" in extra.body_html and "as the model wrote it" not in extra.body_html
    assert "now hand-written: compost-again" in capsys.readouterr().out
    assert Client().get("/posts/compost-again/").status_code == 200


@pytest.mark.slow
def test_a_post_naming_a_task_but_no_version_upgrades_as_hand_written(transactional_db, capsys):
    with database_at(*BEFORE_0004) as old:
        task, _ = _task_with_version(old, "Mulch")
        old.get_model("publishing", "Post").objects.create(
            task=task, title="Mulch", slug="mulch", body="Mulch, as the editor wrote it.",
            published_at=timezone.now() - dt.timedelta(days=1))
        migrate_to()

    post = Post.objects.get(slug="mulch")
    assert (post.task_id, post.version_id) == (None, None)
    assert "Mulch, as the editor wrote it." in post.body_text
    assert "now hand-written: mulch" in capsys.readouterr().out
    assert Client().get("/posts/mulch/").status_code == 200
