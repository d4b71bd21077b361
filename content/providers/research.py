"""Research from what the editor gave: pasted notes and the web pages at the brief's URLs.

Pasted notes are split into sources; the brief's URLs are fetched by `content.providers.fetcher`
(which applies `tasks.url_guard` to every request and redirect) and each page is quoted by the
passage most related to the topic. `excerpt` and `relevant_passage` are the quoting helpers other
research sources share. This module imports `base`, `fetcher`, the limit on a brief's URLs
(`tasks.services.lifecycle.SOURCE_URLS_MAX`) and the standard library.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from content.providers.base import Brief, ResearchSource, Source, StopCheck, no_stop_check
from content.providers.fetcher import fetch_page
from tasks.services.lifecycle import SOURCE_URLS_MAX

QUOTE_CHARS = 300
PASTED_TITLE = "Editor's notes"

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
    start, end = _best_window(sentences, terms, limit)
    return excerpt(" ".join(sentences[start:end]), limit)


def _best_window(sentences: list[str], terms: set[str], limit: int) -> tuple[int, int]:
    """The run of sentences `sentences[start:end]` sharing most words with `terms` (the first on a
    tie), where each run starts at a sentence and takes the following ones while, joined by
    spaces, they fit in `limit` characters (its first sentence always).

    One pass with two ends: every sentence is read once and enters and leaves the run once, so a
    hostile page of a million one-word sentences costs a million steps, not a million runs of a
    hundred sentences each, tokenized again for every run.
    """
    found = [tuple(terms & _terms(sentence)) for sentence in sentences]  # mostly (), which is shared
    in_run: Counter[str] = Counter()  # query word → sentences of the run that have it
    best, best_score = (0, 1), -1
    end = length = 0  # the run is sentences[start:end], `length` characters joined
    for start in range(len(sentences)):
        if end <= start:  # the run is empty: it takes its first sentence, however long
            end, length = start + 1, len(sentences[start])
            in_run.update(found[start])
        while end < len(sentences) and length + 1 + len(sentences[end]) <= limit:
            length += 1 + len(sentences[end])
            in_run.update(found[end])
            end += 1
        score = len(in_run)
        if score > best_score:
            best, best_score = (start, end), score
        for word in found[start]:  # the next run starts one sentence later
            in_run[word] -= 1
            if not in_run[word]:
                del in_run[word]
        length -= len(sentences[start]) + 1
    return best


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


class UrlSource(ResearchSource):
    """The pages at the brief's URLs (`inputs["urls"]`, the first SOURCE_URLS_MAX), one source each,
    quoting the passage most related to the topic."""

    name = "urls"

    def gather(self, *, brief: Brief, inputs: dict, stop: StopCheck = no_stop_check) -> list[Source]:
        urls = inputs.get("urls") or []
        if isinstance(urls, str):
            urls = [urls]
        query = " ".join(filter(None, [brief.topic, brief.title, brief.primary_keyword]))
        sources, seen = [], set()
        for url in urls[:SOURCE_URLS_MAX]:
            url = str(url).strip()
            if not url or url in seen:
                continue
            seen.add(url)
            stop()
            page = fetch_page(url, stop=stop)
            quote = relevant_passage(page.paragraphs, query)
            sources.append(Source(number=0, title=excerpt(page.title, 200), url=page.url, quote=quote))
        return sources
