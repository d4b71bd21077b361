"""Uploaded media (the `default` storage), served only to those allowed to see it — in every mode.

- `posts/…`: a published post's featured image or thumbnail (`Post.objects.published()`, the
  one visibility rule) — to anyone, with `Cache-Control: public`. The same file answers 404 the
  moment its post is unpublished (or while it is a draft or scheduled).
- `versions/…`: a content version's image or thumbnail — only to a signed-in staff user who may
  see the version's task (`GenerationTask.objects.visible_to`), with `Cache-Control: private`.
- Anything else — unknown files, other folders, `..`, absolute paths, NUL bytes, backslashes —
  answers 404, never 500, and nothing outside the media storage is ever read: a file is served only
  when a database row names it exactly, and then read through Django's storage API
  (`default_storage`: the local `MediaStorage`, or S3-compatible storage with
  `PRESSROOM_MEDIA_STORAGE=s3`), which refuses names that leave its root.
- Only raster images are shown inline; any other file is sent as `application/octet-stream`
  with `Content-Disposition: attachment`, and every file carries a sandboxing
  Content-Security-Policy, so markup in a file (an SVG or HTML with script) never runs as a page
  of this origin.

In production a front server (nginx, a CDN) may serve `posts/` directly for speed; it must then
be kept in step with unpublishing (or keep a short cache lifetime). `versions/` must always go
through this view, since who may see a version depends on the signed-in user.
"""

from __future__ import annotations

import mimetypes

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

from content.models import ContentVersion
from publishing.models import Post
from tasks.models import GenerationTask

PUBLIC_CACHE = "public, max-age=300"
# Types a browser shows as a picture and never runs. Anything else (an SVG, an HTML file a provider
# or an upload slipped in) is sent as a download of opaque bytes, so it cannot run as our origin.
INLINE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/avif"}
# A file is never a page: no script, no plugin, no form, sandboxed even if opened directly.
MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
PRIVATE_CACHE = "private, no-cache"


def _clean(path: str) -> str | None:
    """The path as a relative media name, or None when it could name anything but a plain file."""
    if not path or "\x00" in path or "\\" in path or path.startswith("/") or len(path) > 1000:
        return None
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path


def _post_image(name: str) -> bool:
    return Post.objects.published().filter(Q(featured_image=name) | Q(thumbnail=name)).exists()


def _version_image(user, name: str) -> bool:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return ContentVersion.objects.filter(
        Q(image=name) | Q(thumbnail=name), task__in=GenerationTask.objects.visible_to(user).values("pk")
    ).exists()


@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@require_safe
def media(request, path: str):
    name = _clean(path)
    if name is None:
        raise Http404("No such file.")
    if name.startswith("posts/") and _post_image(name):
        cache_control = PUBLIC_CACHE
    elif name.startswith("versions/") and _version_image(request.user, name):
        cache_control = PRIVATE_CACHE
    else:
        raise Http404("No such file.")
    response = _stored_file(request, name)
    response["Cache-Control"] = cache_control
    if response.status_code == 200 and response["Content-Type"] not in INLINE_TYPES:
        response["Content-Type"] = "application/octet-stream"
        response["Content-Disposition"] = "attachment"
    response["Content-Security-Policy"] = MEDIA_POLICY
    if cache_control == PRIVATE_CACHE:
        response["Vary"] = "Cookie, Authorization"
    return response


def _stored_file(request, name: str):
    """The file `name` from the media storage, or 304 when the client's copy is current.

    Read through the storage API, never a path under MEDIA_ROOT, so the same view serves files on a
    local disk or in an S3 bucket. A storage that cannot tell a file's modification time (some
    S3-compatible servers) just sends the file without `Last-Modified`."""
    try:
        modified = default_storage.get_modified_time(name).timestamp()
    except (NotImplementedError, AttributeError):
        modified = None
    except (OSError, SuspiciousFileOperation):
        raise Http404("No such file.") from None
    if modified is not None and not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), modified):
        return HttpResponseNotModified()
    try:
        handle = default_storage.open(name, "rb")
    except (OSError, SuspiciousFileOperation):
        raise Http404("No such file.") from None
    content_type, _ = mimetypes.guess_type(name)
    response = FileResponse(handle, content_type=content_type or "application/octet-stream")
    if modified is not None:
        response.headers["Last-Modified"] = http_date(modified)
    return response
