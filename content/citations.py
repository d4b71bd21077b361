"""What a citation is: a source's number in square brackets, `[3]`, right after the claim.

The one definition for everything that writes, checks or formats citations — the writers (chat
prompts, the offline writer), the quality checks, the format stage and the blog. `[3](https://…)`
is a Markdown link whose text happens to be a number, not a citation. The format stage turns
citation n into a link to the numbered Sources list (`citation_link`); `CITATION_LINK` reads that
HTML back (`content.html.without_citations_except`). The Sources section those numbers point to
is recognised here too (`without_sources_section`): the format stage rebuilds it, and it is not
part of a piece's words. A leaf module: it imports nothing of Pressroom.
"""

from __future__ import annotations

import re

# Non-capturing, so that other patterns can embed it (`CITATION.pattern`) and split on it. At most
# nine digits: no source list is that long, and the text may come from a model or a person (a
# "[9999…]" of 5,000 digits made int() raise while a draft edit was formatted: a 500).
CITATION = re.compile(r"\[\d{1,9}\](?!\()")
# Citations as models group them, "[1, 2]" or "[1–3]": not words, whoever counts words.
CITATION_GROUP = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
# The format stage's HTML for citation n (`citation_link`), as it comes back from the sanitizer.
CITATION_LINK = re.compile(r'<sup><a href="#source-(\d+)"[^>]*>\[\d+\]</a></sup>')
_CITATION_AND_SPACE = re.compile(rf"\s*{CITATION.pattern}")
# The anchors of the Sources list, wherever a piece is shown with one (the format stage's own,
# the blog's post page and feeds): `#sources` its heading, `#source-n` source n, where citation n
# points. No heading of the article takes one (`content.formatting`, `content.html`): an article's
# own "Sources" section is `#sources-2`, and `#sources` stays the list's on every page.
SOURCES_ID = "sources"
SOURCES_LIST_ID = re.compile(r"sources|source-\d+")
# The numbered list the format stage appends at the very end (`content.formatting.sources_section`).
_SOURCES_HEADING = "\n## Sources\n"
_TOP_HEADING = re.compile(r"\n##? ")


def number_of(citation: str) -> int:
    """The source number of one citation, `"[3]"` → 3."""
    return int(citation[1:-1])


def cited_numbers(text: str) -> set[int]:
    """The source numbers `text` cites."""
    return {number_of(citation) for citation in CITATION.findall(text or "")}


def without_citations(text: str) -> str:
    """`text` with its citations and the space before each removed."""
    return _CITATION_AND_SPACE.sub("", text)


def citations_kept(text: str, numbers: set[int]) -> str:
    """`text` with only the citations of sources in `numbers` (another one would point nowhere);
    a removed citation takes the space before it along."""
    return _CITATION_AND_SPACE.sub(lambda m: m.group(0) if number_of(m.group(0).strip()) in numbers else "", text)


def citation_link(number: int) -> str:
    """Citation `number` as the format stage writes it in HTML: a link to the Sources list item."""
    return f'<sup><a href="#source-{number}">[{number}]</a></sup>'


def without_sources_section(markdown: str) -> str:
    """The article without the Sources section the format stage appended (a writer or a
    reviser works on the text, a word count counts it; the section is rebuilt from what the text
    cites)."""
    text = (markdown or "").strip()
    start = text.rfind(_SOURCES_HEADING)
    # The last such heading with no `#` or `##` heading after it: an article's own "Sources"
    # section in its middle, and what follows it, is the article's.
    if start != -1 and not _TOP_HEADING.search(text, start + len(_SOURCES_HEADING) - 1):
        text = text[:start]
    return text.strip()
