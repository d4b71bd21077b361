"""Writing content versions: the one way a snapshot of a piece is added.

Numbers are allocated under the task's row lock (callers hold it: the engine's persist step,
or an editor's edit inside `select_for_update`), so two writers never take the same number; the
unique constraint would reject it anyway.
"""

from __future__ import annotations

import errno
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.files.base import ContentFile
from django.db.models import F, Max

from content.models import ContentVersion
from content.providers.base import Image, Usage
from content.textstats import article_word_count
from tasks.exceptions import TransientError
from tasks.models import GenerationTask

# Storage errors worth retrying: space (or quota) may come back; anything else is a fault to see.
STORAGE_FULL = (errno.ENOSPC, errno.EDQUOT)
# The file name's extension per image type, as the providers declare it (`Image.content_type`).
IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def _web_url(url: str, limit: int = 500) -> str:
    """An image source's link as the pages will print it: http(s) only (never `javascript:` or
    `data:`, whatever a provider answered), else none. A link that cannot be read as a URL (an
    unbalanced `[`, which makes `urlsplit` raise) is none too: the image is kept without it."""
    url = (url or "").strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if len(url) <= limit and scheme in ("http", "https") else ""


def next_version_number(task_id) -> int:
    return (ContentVersion.objects.filter(task_id=task_id).aggregate(n=Max("number"))["n"] or 0) + 1


def version_create(
    *,
    task: GenerationTask,
    phase: str,
    title: str,
    body: str,
    created_by=None,
    usage: Usage | None = None,
    cost: Decimal = Decimal("0"),
    model_key: str = "",
    image: Image | None = None,
    copy_image_from: ContentVersion | None = None,
    **fields,
) -> ContentVersion:
    """Add a version and add its tokens and cost to the task's totals."""
    usage = usage or Usage()
    version = ContentVersion(
        task_id=task.pk,
        number=next_version_number(task.pk),
        phase=phase,
        title=title[:300],
        body=body,
        word_count=article_word_count(body),  # never given: one rule, so a version agrees with its QA report
        model_key=model_key,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost=cost,
        created_by=created_by,
        **fields,
    )
    if image is not None:
        extension = IMAGE_EXTENSIONS.get(image.content_type, "png")
        stem = f"{task.pk}-v{version.number}"
        version.image = ContentFile(image.content, name=f"{stem}.{extension}")
        if image.thumbnail:
            version.thumbnail = ContentFile(image.thumbnail, name=f"{stem}-thumb.{extension}")
        version.image_alt, version.image_credit = image.alt[:300], image.credit[:300]
        version.image_credit_url, version.image_source_url = _web_url(image.credit_url), _web_url(image.source_url)
    elif copy_image_from is not None:
        version.image, version.thumbnail = copy_image_from.image.name, copy_image_from.thumbnail.name
        version.image_alt, version.image_credit = copy_image_from.image_alt, copy_image_from.image_credit
        version.image_credit_url = copy_image_from.image_credit_url
        version.image_source_url = copy_image_from.image_source_url
    try:
        version.save()
    except OSError as error:
        if image is not None:
            _delete_written_images(version)
        if error.errno in STORAGE_FULL:
            raise TransientError(f"Media storage is full: {error.strerror}; the image could not be saved.") from error
        raise
    if usage.input_tokens or usage.output_tokens or cost:
        GenerationTask.objects.filter(pk=task.pk).update(
            input_tokens=F("input_tokens") + usage.input_tokens,
            output_tokens=F("output_tokens") + usage.output_tokens,
            actual_cost=F("actual_cost") + cost,
        )
    return version


def _delete_written_images(version: ContentVersion) -> None:
    """Remove the files a failed save already wrote (the image when the thumbnail failed): the
    version row is not stored, so nothing would ever name them."""
    for field in (version.image, version.thumbnail):
        if field and getattr(field, "_committed", False):
            field.storage.delete(field.name)
