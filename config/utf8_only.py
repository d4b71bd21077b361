"""Request text is UTF-8: a body in another charset is refused with 415, text that is not UTF-8
with 400, before CSRF, sessions or a parser read it.

- **The charset a client names.** Every parser honoured `Content-Type: …; charset=X` by looking X
  up among Python's codecs, which include `zlib`, `bz2_codec` and `base64_codec`: a 143-byte JSON
  body with `charset=bz2_codec` was decompressed to 100 MB before it was parsed (no login needed,
  on `/api/auth/logout`), `rot13` or a corrupt `zlib` body answered 500, and a form with
  `charset=punycode` or `idna` failed inside the form parsers (500), as any non-UTF-8 form did on
  the admin's debug pages. JSON is UTF-8 (RFC 8259), Django reads forms as UTF-8 only, and no
  page of Pressroom sends anything else, so a charset other than UTF-8 (by any of its names) is
  refused with 415 whatever the media type.
- **Bytes that are not UTF-8.** Django decodes form fields and query strings with replacement
  characters: `name=Bad%FFbyte` saved the tag "Bad\ufffdbyte", and a revocation's feedback
  `%FF%FE` was kept in the append-only audit trail as "\ufffd\ufffd". A URL-encoded body whose
  bytes (raw or %-escaped) are not UTF-8 is refused with 400, and so is such a query string under
  /admin/ and the editorial API (the public blog and posts API answer any query, as for NUL:
  `config.query_guard`). Multipart bodies are left to Django: their parts are decoded one by one
  as they stream, and an admin form that uploads an image is one.

Under /api/ the answers have the API's error shape.
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote_to_bytes

from django.http import HttpResponse, JsonResponse
from django.utils.http import parse_header_parameters

from config.api import error_body
from config.query_guard import GUARDED, PUBLIC

FORM = "application/x-www-form-urlencoded"
CHARSET_MESSAGE = "Send the request body as UTF-8: charset={charset} is not accepted."
FORM_MESSAGE = "The form's text is not valid UTF-8."
QUERY_MESSAGE = "The query string is not valid UTF-8."


def is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except (LookupError, ValueError):  # no such codec; ValueError for a name with a NUL
        return False


def is_utf8_text(escaped: bytes) -> bool:
    """Whether URL-encoded bytes (a form body or query string) decode as UTF-8, %-escapes included."""
    try:
        unquote_to_bytes(escaped).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class RequireUtf8Middleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        media_type, parameters = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
        charset = parameters.get("charset")
        if charset is not None and not is_utf8(charset):
            return _refusal(request.path, 415, "unsupported_media_type", CHARSET_MESSAGE.format(charset=charset[:40]))
        guarded = request.path.startswith(GUARDED) and not request.path.startswith(PUBLIC)
        query = request.META.get("QUERY_STRING", "")
        if guarded and query and not is_utf8_text(_raw(query)):
            return _refusal(request.path, 400, "invalid", QUERY_MESSAGE)
        if media_type == FORM and not is_utf8_text(request.body):
            return _refusal(request.path, 400, "invalid", FORM_MESSAGE)
        return self.get_response(request)


def _raw(text: str) -> bytes:
    """The bytes of a WSGI string (PEP 3333: bytes as Latin-1); ASGI's query string is decoded as UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _refusal(path: str, status: int, code: str, message: str):
    if path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
