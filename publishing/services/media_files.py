"""Media files that no row names any more: found and deleted by the daily housekeeping job.

Every image lives under one of two folders of the media storage, and exactly one kind of row names
it: `posts/…` a post's featured image or thumbnail (each publication writes a fresh copy of the
version's image, so a republished or re-edited post leaves its previous copy behind, and so does a
publication whose transaction was rolled back after it wrote its copy), `versions/…` a content
version's image or thumbnail (a stage whose transaction failed after the image was written leaves
its file; a deleted task leaves its versions' files). Nothing ever reads such a file again — the
media view serves a name only while a row names it — so it is only wasted space, and it grows with
every publication.

The sweep walks each folder through Django's storage API (so it works the same on a local disk and
in an S3 bucket), skips files younger than `older_than` (a publication or a stage in progress has
written its file but not yet committed the row that names it), asks the database which of a batch
of names a row still names, and deletes the rest. A file whose age cannot be read is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice

from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from content.models import ContentVersion
from publishing.models import Post

logger = logging.getLogger(__name__)

# The folder each kind of row keeps its files in, and the fields that name them.
MEDIA_OWNERS = {
    "posts": (Post, ("featured_image", "thumbnail")),
    "versions": (ContentVersion, ("image", "thumbnail")),
}
BATCH_SIZE = 500  # names asked about in one query


def unreferenced_media_delete(*, older_than: timedelta, storage=None) -> int:
    """Delete the files under `posts/` and `versions/` that are older than `older_than` and named
    by no row; returns how many were deleted."""
    storage = storage or default_storage
    before = timezone.now() - older_than
    deleted = 0
    for folder, (model, fields) in MEDIA_OWNERS.items():
        for batch in _batches(_files_under(storage, folder), BATCH_SIZE):
            old = [name for name in batch if _modified_before(storage, name, before)]
            named = _names_in_use(model, fields, old)
            for name in old:
                if name not in named and _delete(storage, name):
                    deleted += 1
    if deleted:
        logger.info("Deleted %s media files that no post or version names", deleted)
    return deleted


def _files_under(storage, folder: str) -> Iterator[str]:
    """Every file name under `folder`, depth first; an absent folder has none."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for file in sorted(files):
        yield f"{folder}/{file}"
    for directory in sorted(directories):
        yield from _files_under(storage, f"{folder}/{directory}")


def _batches(names: Iterator[str], size: int) -> Iterator[list[str]]:
    while batch := list(islice(names, size)):
        yield batch


def _modified_before(storage, name: str, before: datetime) -> bool:
    try:
        modified = storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        return False
    if timezone.is_naive(modified):
        modified = timezone.make_aware(modified)
    return modified < before


def _names_in_use(model, fields: tuple[str, ...], names: list[str]) -> set[str]:
    if not names:
        return set()
    in_batch = Q()
    for field in fields:
        in_batch |= Q(**{f"{field}__in": names})
    in_use: set[str] = set()
    for row in model.objects.filter(in_batch).values_list(*fields):
        in_use.update(row)
    return in_use


def _delete(storage, name: str) -> bool:
    try:
        storage.delete(name)
    except OSError:
        logger.warning("Could not delete the unreferenced media file %s", name, exc_info=True)
        return False
    return True
