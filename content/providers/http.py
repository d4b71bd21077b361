"""HTTP plumbing shared by the providers: one client setup and one error classification.

Transient (worth retrying): timeouts, connection failures, HTTP 408, 409, 425, 429 and 5xx,
with the server's Retry-After honoured. Permanent: any other 4xx (401/403 say to check the key
variable), malformed bodies (a malformed *stream chunk* is transient, like a dropped stream:
`malformed_chunk`), and configuration errors (a URL without a scheme or host, an
invalid URL, a scheme other than http(s)): retrying cannot mend a setting, so the task fails at
once with the reason. Messages name the provider and the status, never the key.

Bodies are decompressed here (`decoded_chunks`), not by httpx, which undoes all of a body's
codings in one step per received chunk: a few kilobytes of gzip, or of gzip inside gzip, became
hundreds of megabytes in the worker before any size limit was looked at.
"""

from __future__ import annotations

import codecs
import email.utils
import functools
import json
import re
import ssl
import time
import zlib
from collections.abc import Iterator

import httpx

from tasks.exceptions import PermanentError, TransientError
from tasks.models.catalog import base_url_problem

TRANSIENT_STATUSES = {408, 409, 425, 429}
# The largest answer read from a provider, decompressed: an inline 1536×1024 PNG in base64 is
# about 4 MB, a long article's answer well under 1 MB.
ANSWER_MAX_BYTES = 16_000_000
ERROR_BODY_MAX_BYTES = 64_000  # of an error answer, for its message
_LINE_END = re.compile(r"\r\n|\r|\n")
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
# The content codings `decoded_chunks` undoes, offered on every request (httpx would also offer br
# and zstd when their packages are installed), each with the zlib window bits that read it.
ACCEPT_ENCODING = "gzip, deflate"
_CODING_WINDOW_BITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
# The most a body grows by in one decompression step, so memory stays bounded whatever a few
# compressed bytes inflate to.
DECODED_CHUNK_BYTES = 64 * 1024
# How httpx's RemoteProtocolError begins when a redirect's Location is not a URL it can parse:
# httpx builds the next request even when it follows no redirects, inside `send()`.
HTTPX_UNREADABLE_LOCATION = "Invalid URL in location header"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificates HTTPS is verified against, loaded once per process.

    httpx builds a new SSL context for every client unless given one, loading certifi's whole
    bundle each time: about 15 ms of CPU per provider call here, paid on every model call, image
    and page fetch. An SSLContext may be shared by any number of clients and threads.
    """
    return httpx.create_ssl_context(trust_env=False)


def client(*, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, headers: dict | None = None) -> httpx.Client:
    return httpx.Client(timeout=timeout, headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
                        follow_redirects=False, trust_env=False, verify=tls_context())


def decoded_chunks(response: httpx.Response, *, source: str) -> Iterator[bytes]:
    """The body of a streamed `response`, decompressed from its Content-Encoding at most
    DECODED_CHUNK_BYTES at a time, so a caller that stops at its size limit never holds more than
    that limit and one chunk. One coding, gzip or deflate (`ACCEPT_ENCODING`), or none: a body
    coded twice or more (`gzip, gzip`), or in another coding, is a `PermanentError` naming
    `source` (the provider, or the URL), as is one that does not decompress. What follows the end
    of the compressed data is not read."""
    decompressor = _decompressor(response.headers.get("content-encoding", ""), source=source)
    if decompressor is None:
        yield from response.iter_raw()
        return
    for raw in response.iter_raw():
        pending = raw
        while True:
            try:
                decoded = decompressor.decompress(pending, DECODED_CHUNK_BYTES)
            except zlib.error as error:
                raise PermanentError(f"{source} sent a compressed body that cannot be decompressed "
                                     f"({error}).") from None
            if decoded:
                yield decoded
            pending = decompressor.unconsumed_tail
            if not pending and len(decoded) < DECODED_CHUNK_BYTES:
                break  # this chunk is used up and nothing of it is held back
        if decompressor.eof:
            return


def _decompressor(content_encoding: str, *, source: str):
    """A zlib decompressor for the one coding in `content_encoding`; None for none (or identity)."""
    codings = [coding.strip().lower() for coding in content_encoding.split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        raise PermanentError(f"{source} sent a body compressed {len(codings)} times over ({', '.join(codings)}); "
                             "only one gzip or deflate coding is read.")
    if codings[0] not in _CODING_WINDOW_BITS:
        raise PermanentError(f"{source} sent a body in the {codings[0][:40]!r} coding; only gzip and deflate are read.")
    return zlib.decompressobj(_CODING_WINDOW_BITS[codings[0]])


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date. A date the email
    parser cannot hold (a year or an offset of twenty digits: OverflowError) is no hint, like
    one it cannot read: the error's status alone decides, and the answer stays transient."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_message(text: str) -> str:
    # RecursionError: JSON nested deeper than the parser (or str()) can follow is an unreadable
    # body like any other, so the status alone decides whether the call is retried.
    try:
        body = json.loads(text)
        if isinstance(body, dict):
            error = body.get("error", body)
            if isinstance(error, dict):
                return str(error.get("message") or error.get("type") or error)[:200]
            return str(error)[:200]
        return str(body)[:200]
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return text[:200].strip()


def raise_for_status(response: httpx.Response, *, provider: str, key_variable: str = "") -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = _error_message(_text(_read_start(response, ERROR_BODY_MAX_BYTES, provider=provider), response))
    message = f"{provider} answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in TRANSIENT_STATUSES or status >= 500:
        raise TransientError(message, retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status in (401, 403):
        hint = f" Check the key in {key_variable}." if key_variable else ""
        raise PermanentError(f"{provider} rejected the credentials (HTTP {status}).{hint}" + (f" {detail}" if detail else ""))
    raise PermanentError(message)


def _read_start(response: httpx.Response, limit: int, *, provider: str) -> bytes:
    """At most `limit` bytes of the (decompressed) body, for an error message; what cannot be
    decompressed gives no message, so the status alone classifies the error."""
    start = bytearray()
    try:
        for chunk in decoded_chunks(response, source=provider):
            start += chunk[: limit - len(start)]
            if len(start) >= limit:
                break
    except PermanentError:
        pass
    return bytes(start)


def _text(body: bytes, response: httpx.Response) -> str:
    try:
        return body.decode(response.encoding or "utf-8", errors="replace")
    except (LookupError, UnicodeError):  # a charset that cannot decode, or cannot replace (idna)
        return body.decode("utf-8", errors="replace")


def _too_large(provider: str) -> PermanentError:
    return PermanentError(f"{provider} sent an answer larger than {ANSWER_MAX_BYTES:,} bytes; it was not read "
                          "to the end (no answer of a model or image API is that large).")


def read_answer(response: httpx.Response, *, provider: str) -> str:
    """The whole body of a streamed response as text, decompressed and read at most
    ANSWER_MAX_BYTES: a few compressed megabytes can inflate to gigabytes in the worker."""
    body = bytearray()
    for chunk in decoded_chunks(response, source=provider):
        body += chunk
        if len(body) > ANSWER_MAX_BYTES:
            raise _too_large(provider)
    return _text(bytes(body), response)


def request_answer(client: httpx.Client, method: str, url: str, *, provider: str, key_variable: str = "",
                   **options) -> str:
    """The body of a successful request, as text (`read_answer`); HTTP statuses classified by
    `raise_for_status`."""
    with client.stream(method, url, **options) as response:
        raise_for_status(response, provider=provider, key_variable=key_variable)
        return read_answer(response, provider=provider)


def checked_url(url: str, *, what: str, fix: str) -> str:
    """`url` if it can be requested (`tasks.models.catalog.base_url_problem`, the catalog's own
    rule); else a permanent error saying that `what` (e.g. "The base URL of Anthropic (Claude)")
    is unusable and how to `fix` it. Checked before any request, so a misconfigured provider
    costs no call and no retry."""
    problem = base_url_problem(url)
    if problem:
        raise PermanentError(f"{what} is unusable: {url!r}: {problem}; {fix}.")
    return url


def unreadable_location(error: httpx.HTTPError) -> bool:
    """Whether `error` is httpx refusing a redirect's Location that is not a URL (a control
    character, a bad port): the answer's own fault, not the network's."""
    return isinstance(error, httpx.RemoteProtocolError) and str(error).startswith(HTTPX_UNREADABLE_LOCATION)


def transport_error(error: httpx.HTTPError, *, provider: str) -> TransientError | PermanentError:
    """Classify an exception raised by httpx while talking to `provider`. A redirect is an answer
    no provider API gives (it is refused as `HTTP 3xx`), whether or not its Location can be read."""
    if isinstance(error, httpx.UnsupportedProtocol):  # a TransportError, but a setting, not the network
        return PermanentError(f"{provider} cannot be reached at its configured URL: {error}")
    if unreadable_location(error):
        return PermanentError(f"{provider} answered with a redirect to an address that cannot be read: "
                              f"{error}")
    if isinstance(error, httpx.TimeoutException):
        return TransientError(f"{provider} did not answer in time ({type(error).__name__}).")
    if isinstance(error, (httpx.TransportError, httpx.RemoteProtocolError)):
        return TransientError(f"Could not reach {provider}: {error}")
    return PermanentError(f"{provider} request failed: {error}")


def _sse_lines(texts: Iterator[str], *, provider: str) -> Iterator[str]:
    """The lines of a stream of text, ended by CR, LF or CRLF as the SSE format says (a CRLF may
    be split between two chunks). A stream longer than ANSWER_MAX_BYTES characters in all, a
    single line included, is refused before it is all held in memory."""
    parts: list[str] = []
    size, skip_lf = 0, False
    for text in texts:
        size += len(text)
        if size > ANSWER_MAX_BYTES:
            raise _too_large(provider)
        if skip_lf and text.startswith("\n"):
            text = text[1:]
        start = 0
        for end in _LINE_END.finditer(text):
            parts.append(text[start:end.start()])
            yield "".join(parts)
            parts, start = [], end.end()
        if start < len(text):
            parts.append(text[start:])
        skip_lf = text.endswith("\r")  # a lone CR ended the last line; its LF may come next
    if parts:
        yield "".join(parts)


def _decoded_text(response: httpx.Response, *, provider: str) -> Iterator[str]:
    """The body of a streamed `response` as text, piece by piece (`decoded_chunks`), in UTF-8
    whatever charset it declares: the SSE format knows no other ("Event streams are always decoded
    as UTF-8"). Honoured, a declared `bz2_codec`, `base64_codec` or `rot13` made bytes of the text
    and `idna` or a BOM-less `utf-16` raised mid-stream, so the task failed as an "Unexpected
    error: AssertionError: " without a word of why. One byte-order mark at the very start of the
    stream is dropped, as the format says, even split between chunks (`utf-8-sig` waits for its
    three bytes); kept, it made the first line's field "\ufeffdata" and lost the first event.
    A U+FEFF anywhere later is text."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    for chunk in decoded_chunks(response, source=provider):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


def iter_sse(response: httpx.Response, *, provider: str) -> Iterator[tuple[str, str]]:
    """Yield (event, data) pairs of a text/event-stream response, per the SSE format."""
    event, data = "", []
    for line in _sse_lines(_decoded_text(response, provider=provider), provider=provider):
        if line == "":
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event or "message", "\n".join(data)


def malformed_chunk(provider: str, problem: str, data: str) -> TransientError:
    """A stream chunk that cannot be read: the stream is as good as dropped, so the call is tried
    again under the same retry policy as a dropped connection."""
    return TransientError(f"{provider} sent a malformed stream chunk ({problem}): {data[:120]!r}; the answer is "
                          "dropped and the call tried again.")


def stream_chunk(data: str, *, provider: str) -> dict:
    """One SSE chunk's JSON object; a `malformed_chunk` error when it is not JSON or not an object."""
    try:
        chunk = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser follows
        raise malformed_chunk(provider, "invalid JSON", data) from None
    if not isinstance(chunk, dict):
        raise malformed_chunk(provider, "not a JSON object", data)
    return chunk


def unexpected_shape(provider: str, what: str) -> PermanentError:
    """An answer that is JSON, but with a field of the wrong type (text that is a number, an
    object that is a list...): the provider is not speaking the protocol, so retrying cannot help."""
    return PermanentError(f"{provider} answered in an unexpected shape: {what}.")


def text_field(value, *, provider: str, what: str) -> str:
    """`value` if it is text, "" if it is absent (None); an `unexpected_shape` error otherwise."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise unexpected_shape(provider, f"{what} is {type(value).__name__}, not text")
    return value


def parse_json(text: str, *, provider: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser follows
        raise PermanentError(f"{provider} sent malformed JSON: {text[:120]!r}") from None
