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


@pytest.mark.parametrize("url", ["http://[oops", "https://a]b/", "//[x"])
def test_an_image_link_that_cannot_be_read_is_dropped_and_the_version_saved(url):
    version = version_create(task=make_task(), phase="image", title="A heap", body="",
                             image=image(credit_url=url, source_url=url))
    assert version.pk and version.image_credit_url == "" and version.image_source_url == ""
