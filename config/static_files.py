"""Static files through WhiteNoise, with its byte ranges read as RFC 9110 (section 14.1.2) reads them.

WhiteNoise 6.12 refuses a range of one byte (`Range: bytes=0-0`, `bytes=5-5`) with 416 Range Not
Satisfiable, because it compares the first and last positions with `>=` where the last one is
inclusive; players and download managers probe a file with `bytes=0-0` before they fetch it, and
a 416 tells them the file cannot be fetched in parts. It also answers an invalid range (`bytes=5-3`,
last before first) with 416 where the RFC says to ignore the header and send the whole file, and
reads `bytes=-0` (the last zero bytes: nothing) as `bytes=0-` (the whole file).

Here the middleware is WhiteNoise's, and each file it serves answers ranges through
`RangeStaticFile.get_range_response`. Everything else (headers, compressed variants, caching,
conditional requests) stays WhiteNoise's own; a header this module cannot read still raises
ValueError, which WhiteNoise answers with the whole file, as before.
"""

from __future__ import annotations

import re
from http import HTTPStatus

from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import Response, SlicedFile, StaticFile

# One range: `first-last`, `first-` or `-suffix`. A list of ranges is not served in parts (as
# WhiteNoise: the header is ignored and the whole file sent), which the RFC allows.
ONE_RANGE = re.compile(r"bytes=(?:(?P<first>\d+)-(?P<last>\d*)|-(?P<suffix>\d+))", re.ASCII)
# Longer numbers than any file's size are read as what they mean without parsing a megabyte of digits.
MAX_DIGITS = 30


class RangeStaticFile(StaticFile):
    def get_range_response(self, range_header, base_headers, file_handle):
        headers = [item for item in base_headers if item[0] != "Content-Length"]
        size = next(int(value) for name, value in base_headers if name == "Content-Length")
        first, last = byte_range(range_header, size)  # ValueError: WhiteNoise sends the whole file
        if first is None:
            return self.get_range_not_satisfiable_response(file_handle, size)
        if file_handle is not None:
            file_handle = SlicedFile(file_handle, first, last)
        headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
        headers.append(("Content-Length", str(last - first + 1)))
        return Response(HTTPStatus.PARTIAL_CONTENT, headers, file_handle)


def byte_range(range_header: str, size: int) -> tuple[int | None, int | None]:
    """The inclusive positions `range_header` asks of a file of `size` bytes; (None, None) when
    nothing of the file is in it (416). ValueError when the header is not one range the RFC
    allows (invalid: ignored, the whole file is sent)."""
    match = ONE_RANGE.fullmatch(range_header.strip())
    if match is None:
        raise ValueError(range_header)
    if match["suffix"] is not None:
        suffix = _position(match["suffix"])
        if suffix == 0 or size == 0:
            return None, None
        return max(size - suffix, 0), size - 1
    first = _position(match["first"])
    last = _position(match["last"]) if match["last"] else None
    if last is not None and last < first:
        raise ValueError(range_header)
    if first >= size:
        return None, None
    return first, size - 1 if last is None else min(last, size - 1)


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


class RangeWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise's middleware, serving each file as a `RangeStaticFile`."""

    def get_static_file(self, path, url, stat_cache=None):
        static_file = super().get_static_file(path, url, stat_cache=stat_cache)
        static_file.__class__ = RangeStaticFile  # built by WhiteNoise, answering ranges as above
        return static_file
