"""Media files no row names (publishing.services.media_files): the daily housekeeping deletes them
once they are older than the grace period, through the storage API, and never a file a post or a
version still names, a young one, or anything outside `posts/` and `versions/`."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from content.providers.base import Image
from content.selectors import current_version
from content.services.review import task_approve, task_edit_draft
from content.services.versions import version_create
from publishing.jobs import housekeeping
from publishing.services.media_files import unreferenced_media_delete
from publishing.services.posts import task_publish
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG a heap of compost"
TWO_DAYS = 2 * 24 * 3600


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _age(name: str, seconds: float = TWO_DAYS) -> None:
    """Make the stored file `name` look `seconds` old."""
    then = time.time() - seconds
    os.utime(default_storage.path(name), (then, then))


def _age_all(media_root) -> None:
    for folder, _, files in os.walk(media_root):
        for file in files:
            then = time.time() - TWO_DAYS
            os.utime(os.path.join(folder, file), (then, then))


def _with_image(task):
    base = current_version(task)
    return version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                          image=Image(content=PNG, content_type="image/png", width=1200, height=630, alt="A heap",
                                      thumbnail=b"\x89PNG thumb"))


def test_a_republished_posts_previous_image_copies_go_and_what_is_named_stays(media_root, editor, reviewer):
    task = completed_task(created_by=editor)
    version = _with_image(task)
    task_approve(task=task, by=reviewer)
    first = task_publish(task=task, by=reviewer)
    first_copies = (first.featured_image.name, first.thumbnail.name)
    task_edit_draft(task=task, by=editor, title="Composting in a small flat")
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    current_copies = (post.featured_image.name, post.thumbnail.name)
    assert set(first_copies).isdisjoint(current_copies), "each publication writes its own copy"
    _age_all(media_root)

    assert housekeeping()["unreferenced_media"] == 2

    assert not any(default_storage.exists(name) for name in first_copies)
    assert all(default_storage.exists(name) for name in current_copies)
    assert default_storage.exists(version.image.name) and default_storage.exists(version.thumbnail.name)
    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 0


def test_files_younger_than_the_grace_period_stay_even_when_nothing_names_them(media_root):
    young = default_storage.save("posts/2026/12/in-flight-v3.png", ContentFile(PNG))
    old = default_storage.save("posts/2026/12/left-behind-v2.png", ContentFile(PNG))
    _age(old)
    _age(young, 3600)

    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 1
    assert default_storage.exists(young) and not default_storage.exists(old)


def test_version_files_stay_while_a_version_names_them_and_go_once_none_does(media_root, editor):
    task = completed_task(created_by=editor)
    version = _with_image(task)
    copy = version_create(task=task, phase="restore", title=version.title, body=version.body,
                          body_html=version.body_html, copy_image_from=version)
    stray = default_storage.save(f"versions/2026/12/{task.pk}-v9.png", ContentFile(PNG))  # its stage rolled back
    _age_all(media_root)

    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 1
    assert not default_storage.exists(stray)
    assert default_storage.exists(version.image.name) and default_storage.exists(version.thumbnail.name)
    assert copy.image.name == version.image.name

    task.delete()  # its versions go with it, and nothing names their files any more
    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 2
    assert not default_storage.exists(version.image.name)


def test_files_outside_the_image_folders_are_never_touched(media_root):
    kept = [default_storage.save(name, ContentFile(b"x")) for name in ("exports/report.csv", "postscript/notes.png",
                                                                       "top.png")]
    for name in kept:
        _age(name)

    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 0
    assert all(default_storage.exists(name) for name in kept)


def test_without_media_folders_the_sweep_finds_nothing(media_root):
    assert not media_root.exists()
    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 0


def test_the_sweep_goes_through_the_storage_api(settings, media_root, editor, reviewer):
    """A storage with no files on disk (Django's InMemoryStorage) is swept the same way."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.InMemoryStorage", "OPTIONS": {"base_url": "/media/"}}}
    task = completed_task(created_by=editor)
    _with_image(task)
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    stray = default_storage.save("posts/2026/12/stray.png", ContentFile(PNG))

    assert unreferenced_media_delete(older_than=timedelta(0)) == 1
    assert not default_storage.exists(stray) and default_storage.exists(post.featured_image.name)
    assert not media_root.exists()


def test_a_file_whose_age_cannot_be_read_is_kept(media_root, monkeypatch):
    name = default_storage.save("posts/2026/12/ageless.png", ContentFile(PNG))
    _age(name)

    def no_time(self, name):
        raise NotImplementedError("This storage cannot tell")

    monkeypatch.setattr(type(default_storage._wrapped), "get_modified_time", no_time)
    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 0
    assert default_storage.exists(name)


def test_names_are_asked_about_in_batches_and_every_batch_is_swept(media_root, editor, monkeypatch):
    monkeypatch.setattr("publishing.services.media_files.BATCH_SIZE", 2)
    task = completed_task(created_by=editor)
    version = _with_image(task)  # two files a version names
    strays = [default_storage.save(f"versions/2026/11/stray-{n}.png", ContentFile(PNG)) for n in range(5)]
    _age_all(media_root)

    assert unreferenced_media_delete(older_than=timedelta(days=1)) == 5
    assert not any(default_storage.exists(name) for name in strays)
    assert default_storage.exists(version.image.name) and default_storage.exists(version.thumbnail.name)


def test_the_test_run_never_sweeps_the_media_of_make_run():
    """The sweep deletes every image no row of the database names: run against the test database,
    it would delete the images of `make run` (var/media), so the tests have media of their own."""
    from django.conf import settings as configured

    assert "pressroom-test-media-" in str(configured.MEDIA_ROOT)
    assert str(configured.MEDIA_ROOT) == os.environ["MEDIA_ROOT"]  # and the processes tests start share it
