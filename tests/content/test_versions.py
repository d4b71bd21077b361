"""Adding content versions (`content.services.versions.version_create`): the image a version
carries and the links printed with it."""

from __future__ import annotations

import pytest

from content.providers.base import Image
from content.services.versions import version_create
from tests.factories import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def image(**fields) -> Image:
    return Image(**{"content": b"\x89PNG fake", "content_type": "image/png", "width": 64, "height": 48,
                    "alt": "A compost heap", **fields})


@pytest.mark.parametrize("content_type, extension", [
    ("image/png", "png"), ("image/jpeg", "jpg"), ("image/webp", "webp"), ("image/gif", "gif"),
])
def test_an_image_is_stored_under_the_extension_of_its_type(content_type, extension):
    task = make_task()
    version = version_create(task=task, phase="image", title="A heap", body="",
                             image=image(content_type=content_type, thumbnail=b"thumb"))
    assert version.image.name.endswith(f"{task.pk}-v1.{extension}")
    assert version.thumbnail.name.endswith(f"{task.pk}-v1-thumb.{extension}")


@pytest.mark.parametrize("url", ["http://[oops", "https://a]b/", "//[x"])
def test_an_image_link_that_cannot_be_read_is_dropped_and_the_version_saved(url):
    version = version_create(task=make_task(), phase="image", title="A heap", body="",
                             image=image(credit_url=url, source_url=url))
    assert version.pk and version.image_credit_url == "" and version.image_source_url == ""
