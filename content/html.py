"""Markdown to safe HTML: the only way text becomes HTML anywhere in Pressroom.

Generated and edited text is untrusted. markdown-it-py renders it with raw HTML disabled (so a
`<script>` in the source comes out as escaped text), then nh3 (Ammonia) keeps only an allowlist
of tags and attributes and only http(s)/mailto links, and marks links `rel="noopener noreferrer"`.
Citations `[n]` the format stage asks for become links while the Markdown is parsed, in the text
a reader reads only: a `[1]` in an image's alt text, a link's title or text, or code stays as it
is (rewriting the rendered HTML put links inside attribute values and broke the tags).
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import blockquote, list_block
from markdown_it.token import Token

from content.citations import CITATION, CITATION_LINK, SOURCES_LIST_ID, citation_link, number_of

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
    "li": {"id", "value"},
    "code": {"class"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
_CITATION_LINK_AND_SPACE = re.compile(rf"\s*{CITATION_LINK.pattern}")



def _link_citations(state) -> None:
    """Core rule: split the text tokens outside links at the citations of `env["citations"]`.

    Only an inline block's own text tokens are looked at: an image's alt text is in the image
    token's children, a link's title is an attribute and code is not text, so none is touched.
    Runs before `text_join`, so an escaped `\\[1\\]` stays text."""
    numbers = state.env.get("citations") if isinstance(state.env, dict) else None
    if not numbers:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_link = [], 0
        for token in block.children:
            in_link += token.type == "link_open"
            in_link -= token.type == "link_close"
            if token.type != "text" or in_link or not CITATION.search(token.content):
                children.append(token)
                continue
            position = 0
            for match in CITATION.finditer(token.content):
                if number_of(match.group(0)) not in numbers:
                    continue
                children.append(_text(token.content[position : match.start()]))
                citation = Token("citation", "", 0)
                citation.meta = {"number": number_of(match.group(0))}
                children.append(citation)
                position = match.end()
            children.append(_text(token.content[position:]))
        block.children = [token for token in children if token.type != "text" or token.content]


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _render_citation(self, tokens, idx, options, env) -> str:
    return citation_link(tokens[idx].meta["number"])


class _DeepTextKept(ParserBlock):
    """markdown-it's block parser, except that text nested deeper than `maxNesting` is kept.

    At that depth markdown-it skips every line to the end of the document: a list nested ten deep
    (two levels each) lost the rest of the article, its later sections and its Sources list with
    it. Here the lines at that depth are read by the rules that do not nest (a quote or a list
    marker there stays text), each block a paragraph of its own (not a tight list's bare text, which
    would run into the next one), and the lines after them are read as usual."""

    def tokenize(self, state, startLine: int, endLine: int) -> None:
        if state.level < state.md.options.maxNesting:
            super().tokenize(state, startLine, endLine)
            return
        rules = [rule for rule in self.ruler.getRules("") if rule not in (blockquote, list_block)]
        line = startLine
        while line < endLine:
            state.line = line = state.skipEmptyLines(line)
            if line >= endLine or state.sCount[line] < state.blkIndent:
                break
            any(rule(state, line, endLine, False) for rule in rules)  # the paragraph rule always reads one
            state.tight = False
            line = state.line


def markdown_parser(*, html: bool) -> MarkdownIt:
    """The Markdown Pressroom reads: CommonMark with tables and strikethrough, text nested too deep
    kept (`_DeepTextKept`), raw HTML read as HTML (`html=True`, for the readable text) or as text.
    The page's renderer here and the plain-text reader (`content.textstats`) are both made here,
    so the words counted and searched are the words shown."""
    parser = MarkdownIt("commonmark", {"html": html, "linkify": False, "typographer": False})
    deep_text_kept = _DeepTextKept()
    deep_text_kept.ruler = parser.block.ruler  # the commonmark preset's rules, as configured
    parser.block = deep_text_kept
    return parser.enable("table").enable("strikethrough")


_markdown = markdown_parser(html=False)
_markdown.core.ruler.before("text_join", "citations", _link_citations)
_markdown.add_render_rule("citation", _render_citation)


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_images_of_this_site_only,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


# A path on this site: one slash, then anything but a second slash or a backslash (browsers read
# "//host/x" and "/\\host/x" as another host), with no space or control character anywhere (the URL
# parser drops tabs and line breaks, so "/<tab>/host" is "//host" too).
_SITE_PATH = re.compile(r"/(?![/\\])[^\x00-\x20]*")


def _images_of_this_site_only(element: str, attribute: str, value: str) -> str | None:
    """An image in a body may only come from this site: one from elsewhere is a tracker in every feed
    reader and API client that shows the body (the blog's CSP already blocks it on pages). Its
    `src` is dropped; its alt text stays."""
    if element == "img" and attribute == "src" and not _SITE_PATH.fullmatch(value):
        return None
    return value


def render_markdown(markdown: str, *, citations: set[int] = frozenset()) -> str:
    """Render untrusted Markdown to HTML that is safe to print unescaped; the citations of the
    sources in `citations` become links to the Sources list (`content.citations.citation_link`)."""
    return sanitize_html(_markdown.render(markdown or "", {"citations": set(citations)}))


_LEADING_H1 = re.compile(r"\A\s*<h1\b[^>]*>.*?</h1>\s*", re.DOTALL | re.IGNORECASE)
_SOURCES_HEADING = re.compile(r"<h2\b[^>]*>\s*Sources\s*</h2>", re.IGNORECASE)
_ONE_LIST_TO_THE_END = re.compile(r"\s*<ol\b[^>]*>(?:(?!<ol\b).)*?</ol>\s*\Z", re.DOTALL | re.IGNORECASE)


def without_leading_h1(html: str) -> str:
    """The HTML without a first-thing `<h1>`: a page prints the title once, as its own heading, so a
    body that opens with its own `# Title` would repeat it."""
    return _LEADING_H1.sub("", html or "", count=1)


def without_sources_section(html: str) -> str:
    """The HTML without a trailing "Sources" heading and its list (the format stage appends one);
    the blog lists a post's sources from its vetted, public-only list instead. Only the last such
    heading, followed by one list and nothing else, is that section: an article's own "Sources"
    section in its middle, and everything after it, stays."""
    html = html or ""
    last = None
    for last in _SOURCES_HEADING.finditer(html):
        pass
    if last is not None and _ONE_LIST_TO_THE_END.match(html, last.end()):
        html = html[:last.start()]
    return html.rstrip()


_HEADING_ID = re.compile(r'(<h[23]\b[^>]*?\bid=")([^"]*)(")', re.IGNORECASE)
_ANY_ID = re.compile(r'\bid="([^"]*)"')


def headings_off_the_sources_ids(html: str) -> str:
    """The HTML with each heading that holds one of the Sources list's anchors
    (`content.citations.SOURCES_LIST_ID`) moved to the next free one: `sources` to `sources-2`.
    Versions formatted before the format stage kept those anchors for the list gave an article's
    own "Sources" heading `#sources`, which a page listing the sources after the body has too."""
    html = html or ""
    taken = set(_ANY_ID.findall(html))

    def moved(match: re.Match) -> str:
        anchor = match.group(2)
        if not SOURCES_LIST_ID.fullmatch(anchor):
            return match.group(0)
        n = 2
        while f"{anchor}-{n}" in taken:
            n += 1
        taken.add(f"{anchor}-{n}")
        return f"{match.group(1)}{anchor}-{n}{match.group(3)}"

    return _HEADING_ID.sub(moved, html)


def without_citations_except(html: str, numbers: set[int]) -> str:
    """The HTML with the format stage's citation links `[n]` kept only for the sources in `numbers`
    (a citation of a source the page does not list would point nowhere); a removed link takes the
    space before it along ("hard work [1]." becomes "hard work.", not "hard work .")."""
    # Compared as text: the HTML may come from a model, and `int()` of a 5,000-digit "number" raises.
    kept = {str(number) for number in numbers if isinstance(number, int) and not isinstance(number, bool)}
    return _CITATION_LINK_AND_SPACE.sub(lambda match: match.group(0) if match.group(1) in kept else "", html or "")
