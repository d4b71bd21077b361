import pytest
from django.contrib.auth.models import Group

from publishing.roles import EDITORS, REVIEWERS

pytestmark = pytest.mark.django_db


def _codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_editors_create_and_edit_tasks_and_drafts_but_do_not_review_or_publish():
    permissions = _codenames(EDITORS)
    assert {"tasks.add_generationtask", "tasks.change_generationtask", "content.add_contentversion",
            "publishing.add_post", "publishing.change_post"} <= permissions
    assert not permissions & {"content.review_content", "publishing.publish_post", "tasks.view_all_tasks",
                              "content.change_approvalevent", "content.delete_approvalevent"}


def test_reviewers_also_approve_reject_and_publish():
    permissions = _codenames(REVIEWERS)
    assert _codenames(EDITORS) <= permissions
    assert {"content.review_content", "publishing.publish_post", "tasks.view_all_tasks"} <= permissions
    assert not permissions & {"content.change_approvalevent", "content.delete_approvalevent",
                              "content.change_contentversion", "content.delete_contentversion"}


def test_role_permissions_reach_the_users(editor, reviewer):
    assert editor.has_perm("tasks.add_generationtask")
    assert not editor.has_perm("publishing.publish_post")
    assert reviewer.has_perm("publishing.publish_post")
    assert reviewer.has_perm("content.review_content")
