"""Fetching the web page at a URL an editor gave, safely, and reading its text.

Fetching such a URL is a server-side request on their behalf, so every request and every redirect
goes through `tasks.url_guard` (http and https only; every address the host resolves to must be
public unless PRESSROOM_FETCH_ALLOW_PRIVATE), and the connection goes to an address that was checked
(`tasks.checked_http`, so a second DNS answer cannot swap in an internal one). Redirects are
followed by hand, at most three; only HTML and plain text are read, at most
PRESSROOM_FETCH_MAX_BYTES, and reduced to a title and paragraphs.

Failures are classified per URL: a refused or unusable URL (bad scheme, private address, HTTP
404, not a web page, no readable text) is a `PermanentError` that names it, so the editor can fix
the brief; a network failure (DNS, timeout, lost connection, HTTP 429/5xx) is a `TransientError`.
This module imports `base`, `http`, `tasks.checked_http`, `tasks.http_deadline` and the standard
library; the research sources (`content.providers.research`) and image downloads import it.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from content.providers import http
from content.providers.base import StopCheck, no_stop_check
from tasks.checked_http import CheckedURL, checked_url, send_to_checked_addresses
from tasks.exceptions import PermanentError, TransientError
from tasks.http_deadline import ExchangeDeadline
from tasks.validators import storable_text

MAX_REDIRECTS = 3
PAGE_TYPES = {"text/html": "html", "application/xhtml+xml": "html", "text/plain": "text"}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
USER_AGENT = "Pressroom-Research/1.0 (fetches pages an editor cited in a brief)"


def _shown(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "…"


def _checked(url: str) -> CheckedURL:
    """`url` once `tasks.url_guard` has let it and its addresses pass; a refusal names the URL."""
    try:
        return checked_url(url)
    except ValidationError as error:
        raise PermanentError(error.messages[0]) from None


# --- Fetching and reading pages --------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    url: str  # where the text came from, after redirects
    title: str
    paragraphs: tuple[str, ...]
    truncated: bool = False  # cut at PRESSROOM_FETCH_MAX_BYTES

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@contextmanager
def guarded_get(url: str, *, headers: dict, stop: StopCheck = no_stop_check) -> Iterator[tuple[httpx.Response, str]]:
    """A streamed GET of `url` with every guard of this module, for pages and for images alike:
    `tasks.url_guard` on the URL and on every redirect (followed by hand, at most MAX_REDIRECTS),
    connections only to checked addresses, each network step within
    PRESSROOM_FETCH_TIMEOUT_SECONDS and the whole exchange, reading the body included, within twice
    that. Yields the final answer (not a redirect) and its URL; a network failure or the time
    limit, also while the caller reads the body, becomes a stage error naming the URL."""
    timeout = settings.PRESSROOM_FETCH_TIMEOUT_SECONDS
    current = url
    with ExchangeDeadline(2 * timeout) as deadline:
        try:
            with http.client(timeout=timeout, headers=headers) as client:
                for _hop in range(MAX_REDIRECTS + 1):
                    stop()
                    if deadline.passed():
                        raise _too_slow(current)
                    response = send_to_checked_addresses(client, "GET", _checked(current), deadline)
                    try:
                        location = response.headers.get("location")
                        if response.status_code in REDIRECT_STATUSES and location:
                            current = _redirect_target(current, location)
                            continue
                        yield response, current
                    finally:
                        response.close()
                    return
                raise PermanentError(f"{_shown(url)} redirected more than {MAX_REDIRECTS} times.")
        except httpx.HTTPError as error:
            if deadline.passed():
                raise _too_slow(current) from None
            if http.unreadable_location(error):
                raise _unreadable_redirect(current, detail=str(error)) from None
            raise http.transport_error(error, provider=_shown(current)) from error


def _redirect_target(url: str, location: str) -> str:
    """Where a redirect from `url` leads; `_unreadable_redirect` when its Location cannot be read
    as an address (`urljoin` raises ValueError for an unbalanced `[` or `]`)."""
    try:
        return urljoin(url, location.strip())
    except ValueError:
        raise _unreadable_redirect(url, detail=repr(_shown(location.strip()))) from None


def _unreadable_redirect(url: str, *, detail: str) -> PermanentError:
    """A redirect to an address that cannot be read is the page's own fault, like a 404: retrying
    cannot mend it, and the research stage goes on without that URL."""
    return PermanentError(f"{_shown(url)} redirected to an address that cannot be read: {detail}")


def fetch_page(url: str, *, stop: StopCheck = no_stop_check) -> Page:
    """The readable text of the page at `url`, with every guard of this module applied
    (`guarded_get`)."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html, application/xhtml+xml, text/plain;q=0.8"}
    with guarded_get(url, headers=headers, stop=stop) as (response, current):
        _check_status(response, current)
        kind, charset = _page_kind(response, current)
        content, truncated = _read_capped(response, current, stop=stop)
    text = storable_text(_decode(content, charset, sniff_meta=kind == "html"))
    title, paragraphs = extract_html(text) if kind == "html" else extract_plain_text(text)
    if not paragraphs:
        raise PermanentError(
            f"{_shown(current)} has no readable text (it may need JavaScript); paste the text into the notes instead."
        )
    title = title or urlsplit(current).hostname or current
    return Page(url=current, title=title, paragraphs=paragraphs, truncated=truncated)


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in http.TRANSIENT_STATUSES or status >= 500:
        retry_after = http.parse_retry_after(response.headers.get("retry-after"))
        raise TransientError(f"{_shown(url)} answered HTTP {status}.", retry_after=retry_after)
    raise PermanentError(f"{_shown(url)} answered HTTP {status}; check the URL in the brief.")


def _page_kind(response: httpx.Response, url: str) -> tuple[str, str | None]:
    content_type = response.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in PAGE_TYPES:
        raise PermanentError(
            f"Refusing {_shown(url)}: it is {media_type or 'of no declared type'}, not a web page "
            "(only HTML and plain text can be researched)."
        )
    return PAGE_TYPES[media_type], response.charset_encoding


def _too_slow(url: str) -> TransientError:
    return TransientError(f"{_shown(url)} took too long to load (more than twice "
                          f"PRESSROOM_FETCH_TIMEOUT_SECONDS, {settings.PRESSROOM_FETCH_TIMEOUT_SECONDS} s).")


def _read_capped(response: httpx.Response, url: str, *, stop: StopCheck) -> tuple[bytes, bool]:
    """At most PRESSROOM_FETCH_MAX_BYTES of the (decompressed) body of the page at `url`; what lies
    beyond is not read, nor decompressed (`http.decoded_chunks`)."""
    limit = settings.PRESSROOM_FETCH_MAX_BYTES
    buffer = bytearray()
    for chunk in http.decoded_chunks(response, source=_shown(url)):
        stop()
        buffer += chunk[: limit - len(buffer)]
        if len(buffer) >= limit:
            return bytes(buffer), True
    return bytes(buffer), False


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Charsets a <meta> tag cannot truly declare: a page whose tag was found as ASCII bytes is not in
# UTF-16 or UTF-32, and UTF-7 is no charset of the web. Browsers read such a page as UTF-8 (the HTML
# standard's prescan), and so does this; decoded as declared, its text was CJK-looking noise quoted
# as the source.
_META_CHARSETS_READ_AS_UTF8 = ("utf-16", "utf-32", "utf-7")


def _decode(content: bytes, charset: str | None, *, sniff_meta: bool) -> str:
    if not charset and sniff_meta:
        match = _META_CHARSET.search(content[:4096])
        charset = match.group(1).decode("ascii") if match else None
        if charset and _codec_name(charset).startswith(_META_CHARSETS_READ_AS_UTF8):
            charset = None
    try:
        return content.decode(charset or "utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - the page names the codec: any failure of it (unknown:
        # LookupError; "undefined", "idna": UnicodeError; "punycode": UnicodeDecodeError...) is
        # the page's mistake, read past as most browsers do.
        return content.decode("utf-8", errors="replace")


def _codec_name(charset: str) -> str:
    """Python's name for `charset` ("UTF_16BE" → "utf-16-be"); "" when Python does not know it."""
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return ""


class _PageText(HTMLParser):
    """Paragraphs of a page's text, each marked with where it sits (article, main or elsewhere)."""

    SKIPPED = frozenset(
        "script style nav header footer aside form noscript template svg iframe button select dialog".split()
    )
    BLOCKS = frozenset(
        "p div section article main li ul ol dl dt dd h1 h2 h3 h4 h5 h6 br hr tr td th table blockquote pre "
        "figure figcaption address details summary body".split()
    )
    VOID = frozenset("br hr img input meta link area base col embed source track wbr".split())

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []
        # How many times each tag is in `skipping`: an end tag is looked up here, not searched for
        # in the stack, which a page of a hundred thousand `<nav>`s and as many stray `</x>`s made
        # ten billion comparisons (a 2 MB page, minutes of CPU).
        self.skipped_open: Counter[str] = Counter()
        self.depth = {"article": 0, "main": 0, "title": 0, "h1": 0}
        self.title, self.heading, self.buffer = [], [], []
        self.paragraphs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            if tag not in self.VOID:
                self.skipping.append(tag)
                self.skipped_open[tag] += 1
            return
        if self.skipping:
            return
        if tag in self.BLOCKS:
            self._flush()
        if tag in self.depth and tag not in self.VOID:
            self.depth[tag] += 1

    def handle_endtag(self, tag):
        if self.skipped_open[tag]:
            closed = None
            while closed != tag:
                closed = self.skipping.pop()
                self.skipped_open[closed] -= 1
            return
        if self.skipping:
            return
        if tag in self.BLOCKS:
            self._flush()
        if tag in self.depth and self.depth[tag]:
            self.depth[tag] -= 1

    def handle_data(self, data):
        if self.depth["title"]:
            self.title.append(data)
            return
        if self.skipping:
            return
        if self.depth["h1"]:
            self.heading.append(data)
        self.buffer.append(data)

    def _flush(self):
        text = " ".join("".join(self.buffer).split())
        self.buffer = []
        if text:
            where = "article" if self.depth["article"] else "main" if self.depth["main"] else "page"
            self.paragraphs.append((text, where))

    def close(self):
        super().close()
        self._flush()


# What ends a comment for CPython's parser (`html.parser.commentclose`).
_COMMENT_CLOSE = re.compile(r"--\s*>")


def parseable_html(html: str) -> str:
    """`html` with the markup that can never be closed written as text (`&lt;`), which is how it
    reads anyway: every `<` after the page's last `>` and every `<!--` after its last comment end.
    A `<![` (a marked section, which HTML outside SVG and MathML does not have) becomes `<! [`, which
    the parser reads as browsers read `<![`: a bogus comment, up to the next `>`. So the
    downlevel-revealed conditionals of old pages (`<![if !IE]>`, `<![endif]>`) show nothing.

    CPython's `HTMLParser` before gh-135462 (CVE-2025-6069; fixed in CPython releases later than
    the 3.11.7 this was measured on) looks for the end of such an opener from every one of them
    to the end of the page: 60 kB of `<a ` took 34 s of CPU, and 2 MB would have taken hours. And
    a `<![` that is not followed by a name raised `AssertionError` out of the parser.
    """
    last_tag_end = html.rfind(">")
    head, tail = html[: last_tag_end + 1], html[last_tag_end + 1:].replace("<", "&lt;")
    last_comment_end = max((match.end() for match in _COMMENT_CLOSE.finditer(head)), default=0)
    head = head[:last_comment_end] + head[last_comment_end:].replace("<!--", "&lt;!--")
    return head.replace("<![", "<! [") + tail


def extract_html(html: str) -> tuple[str, tuple[str, ...]]:
    """(title, paragraphs) of an HTML page: the text of its <article> if it has one with text,
    else of its <main>, else of the whole page; never scripts, styles, navigation, headers,
    footers, asides or forms. The title is the <title>, else the first <h1>."""
    parser = _PageText()
    parser.feed(parseable_html(html))
    parser.close()
    title = " ".join("".join(parser.title).split()) or " ".join("".join(parser.heading).split())
    for region in ("article", "main"):
        found = tuple(text for text, where in parser.paragraphs if where == region)
        if sum(map(len, found)) >= 200:
            return title, found
    return title, tuple(text for text, _ in parser.paragraphs)


def extract_plain_text(text: str) -> tuple[str, tuple[str, ...]]:
    """(title, paragraphs) of a plain text page: paragraphs split at blank lines; the title is a
    short first line, if there is one."""
    paragraphs = tuple(" ".join(block.split()) for block in re.split(r"\n[ \t]*\n", text) if block.strip())
    first_line = text.strip().split("\n", 1)[0].strip()
    return (first_line if 0 < len(first_line) <= 120 else ""), paragraphs
