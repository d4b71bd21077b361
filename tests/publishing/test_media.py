"""Media visibility: post images only while the post is published, version images only to staff
who may see the task, and nothing else — traversal attempts included — ever served."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from content.providers.base import Image
from content.selectors import current_version
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.models import Post
from publishing.services.posts import task_publish, task_unpublish
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG fake image"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    (tmp_path / "secret.txt").write_bytes(b"outside MEDIA_ROOT")
    return root


@pytest.fixture
def task_with_image(editor):
    task = completed_task(created_by=editor)
    base = current_version(task)
    version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                   image=Image(content=PNG, content_type="image/png", width=1200, height=630, alt="A heap"))
    return task


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_published_post_image_is_public_until_unpublished(task_with_image, reviewer):
    task_approve(task=task_with_image, by=reviewer)
    post = task_publish(task=task_with_image, by=reviewer)
    url = f"/media/{post.featured_image.name}"
    assert post.featured_image.name.startswith("posts/")
    response = _client().get(url)
    assert response.status_code == 200 and _body(response) == PNG
    assert response["Cache-Control"].startswith("public")
    assert _client().head(url).status_code == 200
    task_unpublish(task=task_with_image, by=reviewer, reason="Withdrawn")
    assert _client().get(url).status_code == 404
    assert _client(reviewer).get(url).status_code == 404  # a post image follows the post, for everyone


def test_draft_and_scheduled_post_images_are_not_served(media_root):
    now = timezone.now()
    for slug, at in (("draft", None), ("scheduled", now + timedelta(days=1)), ("live", now - timedelta(minutes=1))):
        post = Post(title=slug, slug=slug, published_at=at)
        post.featured_image.save(f"{slug}.png", ContentFile(PNG), save=False)
        post.thumbnail.save(f"{slug}-thumb.png", ContentFile(PNG), save=False)
        post.save()
    for slug, expected in (("draft", 404), ("scheduled", 404), ("live", 200)):
        post = Post.objects.get(slug=slug)
        assert _client().get(f"/media/{post.featured_image.name}").status_code == expected
        assert _client().get(f"/media/{post.thumbnail.name}").status_code == expected


def test_version_image_only_for_staff_who_may_see_the_task(task_with_image, editor, other_editor, reviewer):
    version = current_version(task_with_image)
    url = f"/media/{version.image.name}"
    assert version.image.name.startswith("versions/")
    assert _client().get(url).status_code == 404
    assert _client(other_editor).get(url).status_code == 404
    for user in (editor, reviewer):
        response = _client(user).get(url)
        assert response.status_code == 200 and _body(response) == PNG
        assert response["Cache-Control"].startswith("private")
    if version.thumbnail:
        assert _client().get(f"/media/{version.thumbnail.name}").status_code == 404
        assert _client(editor).get(f"/media/{version.thumbnail.name}").status_code == 200


def test_non_staff_user_never_sees_version_images(task_with_image, editor):
    editor.is_staff = False
    editor.save(update_fields=["is_staff"])
    assert _client(editor).get(f"/media/{current_version(task_with_image).image.name}").status_code == 404


def test_a_published_posts_image_does_not_open_the_version_image(task_with_image, reviewer):
    task_approve(task=task_with_image, by=reviewer)
    task_publish(task=task_with_image, by=reviewer)
    assert _client().get(f"/media/{current_version(task_with_image).image.name}").status_code == 404


@pytest.mark.parametrize("url", [
    "/media/../secret.txt",
    "/media/%2e%2e/secret.txt",
    "/media/%2E%2E/%2e%2e/config/settings.py",
    "/media/posts/../../secret.txt",
    "/media/posts/%2e%2e/%2e%2e/secret.txt",
    "/media/posts/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/media//etc/passwd",
    "/media/%2Fetc%2Fpasswd",
    "/media/posts/a%00.png",
    "/media/versions/%00",
    "/media/posts\\..\\..\\secret.txt",
    "/media/posts/./x.png",
    "/media/",
    "/media/posts/",
    "/media/orphan.txt",
    "/media/posts/orphan.png",
    "/media/versions/orphan.png",
])
def test_anything_else_is_not_found(url, media_root, reviewer):
    (media_root / "orphan.txt").write_bytes(b"unreferenced")
    (media_root / "posts").mkdir()
    (media_root / "posts" / "orphan.png").write_bytes(PNG)
    (media_root / "versions").mkdir()
    (media_root / "versions" / "orphan.png").write_bytes(PNG)
    assert _client().get(url).status_code == 404
    assert _client(reviewer).get(url).status_code == 404


def test_a_referenced_name_with_traversal_is_still_refused(media_root):
    # Even if a row named a file outside MEDIA_ROOT, the path is refused before any lookup.
    Post.objects.create(title="Odd", slug="odd", published_at=timezone.now(), featured_image="posts/../../secret.txt")
    assert _client().get("/media/posts/../../secret.txt").status_code == 404


def test_a_conditional_request_for_a_current_file_gets_304_not_500(task_with_image, reviewer):
    task_approve(task=task_with_image, by=reviewer)
    post = task_publish(task=task_with_image, by=reviewer)
    url = f"/media/{post.featured_image.name}"
    last_modified = _client().get(url)["Last-Modified"]
    response = _client().get(url, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert response.status_code == 304
    assert response["Content-Security-Policy"] == "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
