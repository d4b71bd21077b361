"""Media live behind Django's storage API only: with a storage that has no files on disk
(Django's InMemoryStorage), images are written by the pipeline, copied by publishing and served by
the media view exactly as on a local disk. And `PRESSROOM_MEDIA_STORAGE=s3` is a settings change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import InMemoryStorage, default_storage
from django.test import Client
from django.utils.http import http_date

from content.providers.base import Image
from content.selectors import current_version
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.services.posts import task_publish, task_unpublish
from tests.editorial import completed_task

BASE_DIR = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG in memory"


@pytest.fixture
def memory_storage(settings, tmp_path):
    """Media in memory; MEDIA_ROOT an empty folder that must stay empty."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.InMemoryStorage", "OPTIONS": {"base_url": "/media/"}}}
    yield settings.MEDIA_ROOT
    assert list(settings.MEDIA_ROOT.iterdir()) == []  # nothing ever touched the disk


@pytest.mark.django_db
def test_images_are_written_published_and_served_through_a_storage_without_files(memory_storage, editor, reviewer):
    task = completed_task(created_by=editor)
    base = current_version(task)
    version = version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                             image=Image(content=PNG, content_type="image/png", width=1200, height=630, alt="A heap",
                                         thumbnail=b"\x89PNG thumb"))
    assert default_storage.exists(version.image.name)
    assert isinstance(default_storage._wrapped, InMemoryStorage)

    reviewer_client = Client()
    reviewer_client.force_login(reviewer)
    response = reviewer_client.get(f"/media/{version.image.name}")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png" and response["Cache-Control"].startswith("private")
    assert Client().get(f"/media/{version.image.name}").status_code == 404

    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    assert post.featured_image.name.startswith("posts/") and post.featured_image.url.startswith("/media/posts/")
    response = Client().get(post.featured_image.url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Security-Policy"].endswith("sandbox")
    last_modified = response["Last-Modified"]
    assert Client().get(post.featured_image.url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert Client().get(post.featured_image.url, HTTP_IF_MODIFIED_SINCE=http_date(0)).status_code == 200
    assert Client().head(post.thumbnail.url).status_code == 200
    page = Client().get(f"/posts/{post.slug}/")
    assert post.featured_image.url.encode() in page.content

    task_unpublish(task=task, by=reviewer, reason="Withdrawn")
    assert Client().get(post.featured_image.url).status_code == 404


@pytest.mark.django_db
def test_a_row_naming_a_file_the_storage_lacks_is_a_404(memory_storage, editor, reviewer):
    task = completed_task(created_by=editor)
    base = current_version(task)
    version = version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                             image=Image(content=PNG, content_type="image/png", width=1200, height=630, alt="A heap"))
    default_storage.delete(version.image.name)
    client = Client()
    client.force_login(reviewer)
    assert client.get(f"/media/{version.image.name}").status_code == 404


def _settings_of(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=BASE_DIR, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_s3_media_storage_is_a_settings_change_and_links_through_pressroom():
    code = ("from django.core.files.storage import storages; d = storages['default']; "
            "print(type(d).__name__, d.bucket_name, d.endpoint_url, "
            "d.default_acl, d.file_overwrite, d.url('versions/a b.png'))")
    result = _settings_of(code, PRESSROOM_MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="press-media",
                          AWS_S3_ENDPOINT_URL="http://127.0.0.1:18549")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "S3MediaStorage", "press-media", "http://127.0.0.1:18549", "private", "False", "/media/versions/a%20b.png",
    ]


@pytest.mark.parametrize(("env", "message"), [
    ({"PRESSROOM_MEDIA_STORAGE": "s3"}, "needs AWS_STORAGE_BUCKET_NAME"),
    ({"PRESSROOM_MEDIA_STORAGE": "ftp"}, "must be filesystem or s3"),
])
def test_a_bad_media_storage_setting_stops_the_start_with_its_name(env, message):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "AWS_STORAGE_BUCKET_NAME": "", **env}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and message in result.stderr
