"""A task published while someone deletes the category or a tag it names: the publication waits
for the deletion and makes the name again, instead of failing at commit on a deleted row (a 500)."""

from __future__ import annotations

import pytest

from content.services.review import task_approve
from publishing.models import Category, Post, Tag
from publishing.services.posts import task_publish
from tests.editorial import completed_task
from tests.races import run_while_holding


def _publish_while_this_connection_deletes(task, reviewer, delete):
    """`task_publish` run on another connection while this one has run `delete()` and not yet
    committed (`tests.races.run_while_holding`): its result or error."""
    return run_while_holding(delete, lambda: task_publish(task=task, by=reviewer))


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
