"""Research from what the editor gave: pasted notes and the web pages at the brief's URLs.

Fetching a URL that an editor typed is a server-side request on their behalf, so `UrlSource`
guards it: http and https only; every address the host resolves to must be public (no loopback,
private, link-local, multicast, reserved or unspecified address, IPv4-mapped IPv6 included)
unless PRESSROOM_FETCH_ALLOW_PRIVATE; the connection goes to the address that was checked (so a
second DNS answer cannot swap in an internal one); redirects are followed by hand, at most three,
each target checked again; only HTML and plain text are read, at most PRESSROOM_FETCH_MAX_BYTES.
`validate_research_url` is the same check without DNS, for the API to refuse a brief early.

Failures are classified per URL: a refused or unusable URL (bad scheme, private address, HTTP
404, not a web page, no readable text) is a `PermanentError` that names it, so the editor can fix
the brief; a network failure (DNS, timeout, lost connection, HTTP 429/5xx) is a `TransientError`,
and the stage is retried as a whole. This module imports `base`, `http` and the standard library.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from content.providers import http
from content.providers.base import Brief, ResearchSource, Source, StopCheck, no_stop_check
from tasks.exceptions import PermanentError, TransientError

MAX_URLS = 10
MAX_REDIRECTS = 3
MAX_ADDRESSES = 4  # of a host's addresses, tried in turn when a connection fails
QUOTE_CHARS = 300
ALLOWED_SCHEMES = ("http", "https")
PAGE_TYPES = {"text/html": "html", "application/xhtml+xml": "html", "text/plain": "text"}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
USER_AGENT = "Pressroom-Research/1.0 (fetches pages an editor cited in a brief)"
PASTED_TITLE = "Editor's notes"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")
_URL_IN_TEXT = re.compile(r"https?://\S+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_TERM = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "the and for with that this from your you are was were how what why when who which into about than then "
    "their there they them its our has have had not but can will would should could also more most such".split()
)


# --- Quotes ---------------------------------------------------------------------------------


def excerpt(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` with whitespace collapsed, cut at a word boundary to about `limit` characters."""
    text = " ".join(str(text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _terms(text: str) -> set[str]:
    return {word for word in _TERM.findall(text.lower()) if len(word) > 2 and word not in _STOPWORDS}


def relevant_passage(paragraphs: list[str] | tuple[str, ...], query: str, *, limit: int = QUOTE_CHARS) -> str:
    """About `limit` characters of the paragraph sharing most words with `query` (the first such
    paragraph on a tie, the first substantial one when nothing matches); within a long paragraph,
    the run of sentences sharing most words."""
    terms = _terms(query)
    candidates = [paragraph for paragraph in paragraphs if len(paragraph) >= 40] or list(paragraphs)
    if not candidates:
        return ""
    best = max(candidates, key=lambda paragraph: len(terms & _terms(paragraph)))
    if len(best) <= limit:
        return best
    sentences = _SENTENCE_BREAK.split(best)
    windows = []
    for start in range(len(sentences)):
        window = sentences[start]
        for sentence in sentences[start + 1:]:
            if len(window) + 1 + len(sentence) > limit:
                break
            window += " " + sentence
        windows.append(window)
    return excerpt(max(windows, key=lambda window: len(terms & _terms(window))), limit)


# --- Pasted notes ---------------------------------------------------------------------------

_SOURCE_HEADER = re.compile(r"^(?:source\s*:\s*(?P<label>.*)|(?P<url>https?://\S+))$", re.IGNORECASE)


class PastedTextSource(ResearchSource):
    """The editor's pasted notes (`inputs["text"]`) as sources.

    Notes are one source, "Editor's notes". A block (paragraphs are separated by blank lines)
    whose first line is a URL or starts with "Source:" begins a new source instead, titled by
    that line, which takes the blocks after it up to the next such line. So a paste of
    "Source: https://example.com/report" followed by a quoted passage can be cited on its own.
    """

    name = "pasted"

    def gather(self, *, brief: Brief, inputs: dict, stop: StopCheck = no_stop_check) -> list[Source]:
        text = str(inputs.get("text") or "").strip()
        if not text:
            return []
        groups = [{"title": PASTED_TITLE, "url": "", "body": []}]
        for block in re.split(r"\n[ \t]*\n", text):
            first, _, rest = block.strip().partition("\n")
            header = _SOURCE_HEADER.match(first.strip())
            if header is None:
                groups[-1]["body"].append(block)
                continue
            label = (header.group("label") or "").strip()
            url = header.group("url") or next(iter(_URL_IN_TEXT.findall(label)), "")
            title = _URL_IN_TEXT.sub("", label).strip(" -–—|:") or urlsplit(url).hostname or PASTED_TITLE
            groups.append({"title": title, "url": url.rstrip(".,;)"), "body": [rest] if rest.strip() else []})
        return [
            Source(
                number=0, title=group["title"], url=group["url"], quote=excerpt(" ".join(group["body"])), kind="pasted"
            )
            for group in groups
            if group["body"] or group["url"]
        ]


# --- URL checks -----------------------------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (::ffff:a.b.c.d, 6to4, NAT64), if any."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _literal_address(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal, including the legacy IPv4 forms that resolvers
    accept (`2130706433`, `0x7f.1`, `127.1`)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


def _shown(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "…"


def validate_research_url(url: str) -> str:
    """`url`, stripped, if it may be fetched for research; else a ValidationError saying why.

    Checks what can be known without DNS: the scheme, the host, and that the host is not
    `localhost` or a literal private address (unless PRESSROOM_FETCH_ALLOW_PRIVATE). The fetch
    checks the resolved addresses again."""
    url = str(url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValidationError(f"{_shown(url)!r} is not a valid URL.", code="invalid") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValidationError(
            f"Refusing {_shown(url)}: only http and https URLs are allowed.", code="scheme_not_allowed"
        )
    if not host:
        raise ValidationError(f"Refusing {_shown(url)}: the URL names no host.", code="no_host")
    if not settings.PRESSROOM_FETCH_ALLOW_PRIVATE:
        address = _literal_address(host)
        if _is_local_name(host) or (address is not None and not is_public_address(address)):
            raise ValidationError(
                f"Refusing {_shown(url)}: it points to a local or private address.", code="private_address"
            )
    return url


@dataclass(frozen=True)
class _Target:
    """Where to connect for a URL: its checked addresses, with the name kept for Host and TLS."""

    url: httpx.URL  # the URL as given, with the host name
    addresses: tuple[IPAddress, ...]
    host_header: str
    server_name: str

    def connect_url(self, address: IPAddress) -> httpx.URL:
        return self.url.copy_with(host=str(address))


def _checked_target(url: str) -> _Target:
    try:
        validate_research_url(url)
    except ValidationError as error:
        raise PermanentError(error.messages[0]) from None
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise PermanentError(f"{_shown(url)!r} is not a valid URL.") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parsed.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TransientError(f"Could not resolve the host of {_shown(url)}: {error}") from None
    addresses = tuple(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not addresses:
        raise TransientError(f"The host of {_shown(url)} resolved to no address.")
    if not settings.PRESSROOM_FETCH_ALLOW_PRIVATE:
        # Every answer must be public: with one private answer among public ones, which address a
        # client uses is up to the resolver, and so up to whoever controls the DNS.
        refused = next((address for address in addresses if not is_public_address(address)), None)
        if refused is not None:
            raise PermanentError(
                f"Refusing {_shown(url)}: its host resolves to a local or private address ({refused})."
            )
    return _Target(
        url=parsed,
        addresses=addresses[:MAX_ADDRESSES],
        host_header=parsed.netloc.decode("ascii"),
        server_name=parsed.raw_host.decode("ascii"),
    )


def _open(client: httpx.Client, target: _Target) -> httpx.Response:
    """A streamed GET of the target, connected to its checked addresses in turn (as a client
    would to a host name), never to an address that was not checked."""
    extensions = {"sni_hostname": target.server_name} if target.url.scheme == "https" else {}
    failure = None
    for address in target.addresses:
        request = client.build_request(
            "GET", target.connect_url(address), headers={"Host": target.host_header}, extensions=extensions
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as error:
            failure = error
    raise failure


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


def fetch_page(url: str, *, stop: StopCheck = no_stop_check) -> Page:
    """The readable text of the page at `url`, with every guard of this module applied.

    Each network step (connect, each read) waits at most PRESSROOM_FETCH_TIMEOUT_SECONDS, and
    the whole fetch, redirects included, at most twice that."""
    timeout = settings.PRESSROOM_FETCH_TIMEOUT_SECONDS
    deadline = time.monotonic() + 2 * timeout
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html, application/xhtml+xml, text/plain;q=0.8"}
    current = url
    try:
        with http.client(timeout=timeout, headers=headers) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                stop()
                response = _open(client, _checked_target(current))
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        current = urljoin(current, location.strip())
                        continue
                    _check_status(response, current)
                    kind, charset = _page_kind(response, current)
                    content, truncated = _read_capped(response, current, deadline=deadline, stop=stop)
                finally:
                    response.close()
                break
            else:
                raise PermanentError(f"{_shown(url)} redirected more than {MAX_REDIRECTS} times.")
    except httpx.HTTPError as error:
        raise http.transport_error(error, provider=_shown(current)) from error
    text = _decode(content, charset, sniff_meta=kind == "html")
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


def _read_capped(response: httpx.Response, url: str, *, deadline: float, stop: StopCheck) -> tuple[bytes, bool]:
    """At most PRESSROOM_FETCH_MAX_BYTES of the (decoded) body; what lies beyond is not read."""
    limit = settings.PRESSROOM_FETCH_MAX_BYTES
    buffer = bytearray()
    for chunk in response.iter_bytes():
        stop()
        if time.monotonic() > deadline:
            raise TransientError(f"{_shown(url)} took too long to load.")
        buffer += chunk[: limit - len(buffer)]
        if len(buffer) >= limit:
            return bytes(buffer), True
    return bytes(buffer), False


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode(content: bytes, charset: str | None, *, sniff_meta: bool) -> str:
    if not charset and sniff_meta:
        match = _META_CHARSET.search(content[:4096])
        charset = match.group(1).decode("ascii") if match else None
    try:
        return content.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


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
        self.depth = {"article": 0, "main": 0, "title": 0, "h1": 0}
        self.title, self.heading, self.buffer = [], [], []
        self.paragraphs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            if tag not in self.VOID:
                self.skipping.append(tag)
            return
        if self.skipping:
            return
        if tag in self.BLOCKS:
            self._flush()
        if tag in self.depth and tag not in self.VOID:
            self.depth[tag] += 1

    def handle_endtag(self, tag):
        if tag in self.skipping:
            while self.skipping and self.skipping.pop() != tag:
                pass
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


def extract_html(html: str) -> tuple[str, tuple[str, ...]]:
    """(title, paragraphs) of an HTML page: the text of its <article> if it has one with text,
    else of its <main>, else of the whole page; never scripts, styles, navigation, headers,
    footers, asides or forms. The title is the <title>, else the first <h1>."""
    parser = _PageText()
    parser.feed(html)
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


class UrlSource(ResearchSource):
    """The pages at the brief's URLs (`inputs["urls"]`, the first MAX_URLS), one source each,
    quoting the passage most related to the topic."""

    name = "urls"

    def gather(self, *, brief: Brief, inputs: dict, stop: StopCheck = no_stop_check) -> list[Source]:
        urls = inputs.get("urls") or []
        if isinstance(urls, str):
            urls = [urls]
        query = " ".join(filter(None, [brief.topic, brief.title, brief.primary_keyword]))
        sources, seen = [], set()
        for url in urls[:MAX_URLS]:
            url = str(url).strip()
            if not url or url in seen:
                continue
            seen.add(url)
            stop()
            page = fetch_page(url, stop=stop)
            quote = relevant_passage(page.paragraphs, query)
            sources.append(Source(number=0, title=excerpt(page.title, 200), url=page.url, quote=quote))
        return sources
