"""The format stage's work: final Markdown to publishable, sanitized HTML and its metadata.

Citations `[n]` become links to the numbered Sources section appended at the end, `##`/`###`
headings get ids for the table of contents, and the HTML then goes through the one sanitizer
(`content.html.sanitize_html`), so nothing the model wrote (script, event handlers,
`javascript:` links, raw HTML) survives. SEO fields follow common search-engine limits: title
≤ 60 characters, meta description ≤ 160.
"""

from __future__ import annotations

import html as html_entities
import math
import re
from dataclasses import asdict, dataclass

from django.utils.text import slugify

from content.citations import SOURCES_ID, SOURCES_LIST_ID, cited_numbers, citations_kept, without_sources_section
from content.html import render_markdown, sanitize_html
from content.providers.base import Source
from content.textstats import article_word_count, text_blocks
from tasks.control_characters import without_hidden_characters

SEO_TITLE_MAX = 60
META_DESCRIPTION_MAX = 160
EXCERPT_MAX = 300
WORDS_PER_MINUTE = 225
SLUG_MAX = 80

_HEADING = re.compile(r"<h([23])>(.*?)</h\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_PLAIN_DESTINATION = re.compile(r"[^\s()<>\\\x00-\x1f\x7f]+")
_UNSAFE_IN_DESTINATION = re.compile(r"[\s<>\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Formatted:
    title: str
    body: str  # final Markdown, with the Sources section
    body_html: str
    excerpt: str
    meta_description: str
    seo_title: str
    slug: str
    reading_time_minutes: int
    toc: list[dict]
    word_count: int

    def seo(self) -> dict:
        data = asdict(self)
        for key in ("title", "body", "body_html", "excerpt", "word_count"):
            data.pop(key)
        return data


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary so the result, with its ellipsis, fits in `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return _cut_off(text[: limit - 1].rsplit(" ", 1)[0])


def shorten_to_words(text: str, words: int) -> str:
    """The first `words` words, with an ellipsis if there were more."""
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else _cut_off(" ".join(parts[:words]))


def _cut_off(cut: str) -> str:
    """Text cut short, ending in an ellipsis that never follows punctuation ("people.…")."""
    return cut.rstrip(" ,;:.-–—") + "…"


def split_title(markdown: str, fallback: str) -> tuple[str, str]:
    """The title (a first line `# …`, else `fallback`) and the body. A line ends at a line feed
    only, as Markdown reads it: `splitlines` also cut a title at a vertical tab, U+0085 or U+2028,
    and its tail became the body's first paragraph. Whitespace of any kind in the title is one
    space, bidirectional and other control characters go, and an empty one is `fallback`."""
    text = markdown.strip()
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        return shown_title(first[2:]) or fallback, rest.strip()
    return fallback, text


def shown_title(text: str) -> str:
    """A title a model wrote, as one line that pages and the admin show: whitespace of any kind
    one space, without control and layout-changing characters (`without_hidden_characters`).
    Without explicit embeddings, overrides and isolates: one left open in a title reorders what a
    page prints after it (" · Pressroom" in the tab, the admin's "The post … was changed").
    Without the other control characters either (ESC, BEL, DEL, C1): a post's title refuses them
    all (`validate_shown_line`), and a published title is the format stage's (`split_title`)."""
    words = (without_hidden_characters(word) for word in text.split())
    return " ".join(word for word in words if word)


def first_paragraph(article: str, *, title: str) -> str:
    """The text of the first paragraph outside lists, quotes and tables, as a reader reads it (the
    excerpt and meta description); the whole text when there is no such paragraph. `article` is
    the piece as the word count reads it, `# {title}` and the body, so both read one parse of it
    (`text_blocks` keeps it): the title's own blocks are left out here."""
    blocks = text_blocks(article)[len(text_blocks(f"# {title}")):]
    first = next((block.text for block in blocks if block.kind == "paragraph" and not block.nested), None)
    return " ".join((first if first is not None else "\n\n".join(block.text for block in blocks)).split())


def listed_sources(sources: list[Source], cited: set[int]) -> list[Source]:
    """The sources the Sources section lists, in its order: those cited."""
    return [s for s in sources if s.number in cited]


def sources_section(sources: list[Source], cited: set[int]) -> str:
    listed = listed_sources(sources, cited)
    if not listed:
        return ""
    lines = ["## Sources", ""]
    for source in listed:
        label = " ".join(source.title.replace("[", "(").replace("]", ")").split()) or source.url
        url = _link_destination(source.url) if source.url else ""
        lines.append(f"{source.number}. [{label}]({url})" if url else f"{source.number}. {label}")
    return "\n".join(lines)


def _link_destination(url: str) -> str:
    """`url` as a Markdown link destination that stays one: a source's URL may hold a space (which
    ends a plain destination) or a parenthesis without its pair (which ends it early). Such a URL
    goes in the `<…>` form, with whitespace and angle brackets percent-encoded."""
    if _PLAIN_DESTINATION.fullmatch(url):
        return url
    encoded = _UNSAFE_IN_DESTINATION.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)
    return "<" + encoded.replace("\\", "\\\\") + ">"


def _number_sources(html: str, numbers: list[int]) -> str:
    """Give the Sources list items their sources' numbers, as ids the citation links land on and
    as the numbers shown: the list holds only the cited sources, so an ordered list counting its
    items would show source 3 as "2." (and `#source-3` would be nowhere) when 2 is not cited.
    Its heading is `#sources`, given here so that it is no heading of the article's: it stays out
    of the table of contents, and an article's own "Sources" heading stays in it."""
    marker = html.rfind(">Sources</h2>")
    if marker == -1:
        return html
    head, tail = html[:marker], html[marker:]
    if head.endswith("<h2"):
        head += f' id="{SOURCES_ID}"'
    listed = iter(numbers)

    def item(match: re.Match) -> str:
        number = next(listed, None)
        return match.group(0) if number is None else f'<li id="source-{number}" value="{number}">'

    return head + re.sub(r"<li>", item, tail)


# The ids the blog's post page gives its own elements around the article (templates/base.html,
# templates/publishing/post_detail.html; tests/publishing/test_pages.py reads them there): no
# heading takes one, so that each id on the page names one element.
PAGE_IDS = frozenset({"main", "site-search-q", "toc-title", "provenance-title", "related-title"})


def _heading_ids(html: str) -> tuple[str, list[dict]]:
    """Give each `##`/`###` heading an id made from its text, and list them for the contents.

    A TOC title is plain text, as the reader sees the heading ("Pros & cons", not the HTML's
    "Pros &amp; cons"): the templates escape it once. The anchor is made from the same text, so
    an `&` or a quote in a heading does not leak into the id as `amp` or `quot`. The Sources
    list's anchors are never a heading's (`content.citations.SOURCES_LIST_ID`): a heading
    "Sources" is `sources-2`; nor are the ids of the page around the article (`PAGE_IDS`): a
    heading "Main" is `main-2`, not the skip link's target."""
    toc, used, next_number = [], set(PAGE_IDS), {}

    def add_id(match: re.Match) -> str:
        level, inner = match.group(1), match.group(2)
        text = html_entities.unescape(_TAG.sub("", inner)).strip()
        base = slugify(text, allow_unicode=True)[:60].strip("-") or "section"
        # base, base-2, base-3…: counting on from the last number a base took (not from 2 each
        # time, which made 2,500 identical headings cost seconds).
        anchor, n = base, next_number.get(base, 2)
        while anchor in used or SOURCES_LIST_ID.fullmatch(anchor):
            anchor, n = f"{base}-{n}", n + 1
        next_number[base] = n
        used.add(anchor)
        toc.append({"id": anchor, "title": text, "level": int(level)})
        return f'<h{level} id="{anchor}">{inner}</h{level}>'

    return _HEADING.sub(add_id, html), toc


_ANCHOR = re.compile(r'id="([^"]*)"')


def toc_tree(entries, html: str) -> list[dict]:
    """A table of contents (`Formatted.toc`: id, title and level of each heading) as the pages
    list it: the headings `html` carries anchors for, each level-3 heading under the level-2
    heading before it, in `children`, so that a numbered list numbers the sections only. Entries
    are stored JSON: one without an id is passed over."""
    tree: list[dict] = []
    anchors = set(_ANCHOR.findall(html or ""))
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("id") or str(entry["id"]) not in anchors:
            continue
        item = {"id": str(entry["id"]), "title": str(entry.get("title") or ""), "children": []}
        if entry.get("level") == 3 and tree:
            tree[-1]["children"].append(item)
        else:
            tree.append(item)
    return tree


def format_article(markdown: str, *, fallback_title: str, sources: list[Source]) -> Formatted:
    title, body = split_title(markdown, fallback_title)
    body = without_sources_section(body)  # rebuilt below
    numbers = {s.number for s in sources}
    # A citation that matches no source would mislead a reader: it goes (QA reported it earlier).
    body = citations_kept(body, numbers)
    cited = cited_numbers(body) & numbers
    section = sources_section(sources, cited)
    full_body = body + (f"\n\n{section}" if section else "")
    rendered = render_markdown(full_body, citations=cited)
    rendered = _number_sources(rendered, [s.number for s in listed_sources(sources, cited)]) if section else rendered
    rendered, toc = _heading_ids(rendered)
    body_html = sanitize_html(rendered)  # again: the ids and links added above pass the allowlist too
    final = f"# {title}\n\n{full_body}"
    words = article_word_count(final)
    excerpt = shorten(first_paragraph(without_sources_section(final), title=title), EXCERPT_MAX)
    return Formatted(
        title=title,
        body=final,
        body_html=body_html,
        excerpt=excerpt,
        meta_description=shorten(excerpt, META_DESCRIPTION_MAX),
        seo_title=shorten(title, SEO_TITLE_MAX),
        slug=slugify(title, allow_unicode=True)[:SLUG_MAX].strip("-") or "post",
        reading_time_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        toc=toc,  # the appended Sources heading has its id already: it is not among them
        word_count=words,
    )

