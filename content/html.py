"""Markdown to safe HTML: the only way text becomes HTML anywhere in Pressroom.

Generated and edited text is untrusted. markdown-it-py renders it with raw HTML disabled (so a
`<script>` in the source comes out as escaped text), then nh3 (Ammonia) keeps only an allowlist
of tags and attributes and only http(s)/mailto links, and marks links `rel="noopener noreferrer"`.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

from content.citations import CITATION_LINK

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "del", "em", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "h2": {"id"},
    "h3": {"id"},
    "ol": {"start"},
    "li": {"id"},
    "code": {"class"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
_CITATION_LINK_AND_SPACE = re.compile(rf"\s*{CITATION_LINK.pattern}")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable(
    "strikethrough"
)


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def render_markdown(markdown: str) -> str:
    """Render untrusted Markdown to HTML that is safe to print unescaped."""
    return sanitize_html(_markdown.render(markdown or ""))


_LEADING_H1 = re.compile(r"\A\s*<h1\b[^>]*>.*?</h1>\s*", re.DOTALL | re.IGNORECASE)
_SOURCES_SECTION = re.compile(r"<h2\b[^>]*>\s*Sources\s*</h2>\s*<ol\b[^>]*>.*?</ol>\s*\Z", re.DOTALL | re.IGNORECASE)


def without_leading_h1(html: str) -> str:
    """The HTML without a first-thing `<h1>`: a page prints the title once, as its own heading, so a
    body that opens with its own `# Title` would repeat it."""
    return _LEADING_H1.sub("", html or "", count=1)


def without_sources_section(html: str) -> str:
    """The HTML without a trailing "Sources" heading and its list (the format stage appends one);
    the blog lists a post's sources from its vetted, public-only list instead."""
    return _SOURCES_SECTION.sub("", html or "", count=1).rstrip()


def without_citations_except(html: str, numbers: set[int]) -> str:
    """The HTML with the format stage's citation links `[n]` kept only for the sources in `numbers`
    (a citation of a source the page does not list would point nowhere); a removed link takes the
    space before it along ("hard work [1]." becomes "hard work.", not "hard work .")."""
    # Compared as text: the HTML may come from a model, and `int()` of a 5,000-digit "number" raises.
    kept = {str(number) for number in numbers if isinstance(number, int) and not isinstance(number, bool)}
    return _CITATION_LINK_AND_SPACE.sub(lambda match: match.group(0) if match.group(1) in kept else "", html or "")
