"""Media in an S3-compatible bucket (`PRESSROOM_MEDIA_STORAGE=s3`; needs the `s3` extra,
django-storages with boto3).

Files are read and written through django-storages' `S3Storage`; credentials come from boto3's own
chain (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` in the environment, a profile, an instance
role), so no key is ever written into the settings. What differs from a plain `S3Storage` is the
address a page gives for a file: always Pressroom's own `/media/<name>` (`publishing/media.py`),
never the bucket. Who may see a file depends on the database — a post's image only while the post
is published, a version's image only to staff who may see its task — so the bucket stays private
and every read passes that check. Names are never overwritten, as on a local disk: a second file
of the same name gets a suffix, so republishing never changes an image a cached page still shows.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from storages.backends.s3 import S3Storage


class S3MediaStorage(S3Storage):
    # Class attributes win over django-storages' AWS_* settings: these are not choices to make.
    default_acl = "private"
    file_overwrite = False

    def url(self, name, parameters=None, expire=None, http_method=None):
        """The file's address through Pressroom's media view, which checks who may see it."""
        return f"{settings.MEDIA_URL}{quote(name.lstrip('/'))}"
