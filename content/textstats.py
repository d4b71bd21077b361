"""Counting a Markdown article the way a reader would: words, sentences, syllables, readability.

`article_word_count` is the one rule for how long a piece is, used by the writers (to hit the
target length), the QA rubric (to score it), the versions (their `word_count`, which the admin and
the task pages show beside the report's) and reading times. A piece's words are those a reader
reads: the title, headings, prose, list items and link text. Markdown syntax, citation markers
like `[3]`, URLs, images, code blocks, raw HTML tags (of HTML elements: the `<T>` of
`Rc<RefCell<T>>` is text) and the Sources section the format stage
appends are not words: the section is rebuilt from the citations, so counting it would make the
formatted piece longer than the draft QA measured. `count_words` counts any fragment (a sentence,
a title, a note) the same way.

What a reader reads is taken from the Markdown as markdown-it parses it (`text_blocks`), not by
regular expressions over the source: those left debris ("See Compost) for more.", "Read < now.",
"!tracker", raw tags) in excerpts and meta descriptions, and broke `snake_case` and `5 * 3`. The
format stage's excerpt is the first paragraph of the same blocks, so there is one rule for
plain text.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import nh3

from content.citations import CITATION_GROUP, without_sources_section
from content.html import markdown_parser

_CODE_FENCE = re.compile(r"```.*?```", re.DOTALL)
_URL = re.compile(r"https?://\S+")
# From the start of a run of spaces only: tried from each space of a run, a line of 40,000 spaces cost
# seconds (every start scanned the rest of the run).
_CITATION_AND_SPACE = re.compile(rf"(?<!\s)\s*{CITATION_GROUP.pattern}")
# Raw HTML is parsed as HTML (the page shows it escaped, but its tags are not prose); the text of
# these elements is not read at all.
_UNREAD_ELEMENT = re.compile(r"<(script|style)\b", re.IGNORECASE)
# What markdown-it calls raw HTML is HTML to this reader only when it is a comment, a declaration or
# a tag of an HTML element written as HTML is (lower case): `Rc<RefCell<T>>`, `Vec<u8>` or
# `Option<Box<Node>>` hold "tags" by CommonMark's syntax, and dropping them changed what a sentence
# says ("Rc<RefCell>", then "Rc") in the offline writer's sentences and in excerpts. The page shows
# raw HTML as text either way.
_HTML_MARKUP = re.compile(r"<(?:!|\?|/?([a-z][a-z0-9]*)(?![a-z0-9-]))")
HTML_ELEMENTS = frozenset("""
    a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption
    center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em embed
    fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr
    html i iframe img input ins kbd label legend li link main map mark marquee math menu meta meter nav
    noscript object ol optgroup option output p param picture pre progress q rp rt ruby s samp script
    search section select slot small source span strike strong style sub summary sup svg table tbody
    td template textarea tfoot th thead time title tr track tt u ul var video wbr
""".split())
_reader = markdown_parser(html=True)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ0-9]+(?:['’][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[A-Z0-9\"“‘(])")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


# Words too common to make a repeated three-word phrase read as repetition (QA rubric, writer).
STOPWORDS = frozenset({
    "the", "a", "an", "of", "to", "in", "and", "or", "is", "are", "for", "on", "it", "that", "this", "with", "as",
    "be", "by", "at", "from", "you", "your", "we", "our", "can", "will", "not",
})


def trigram_limit(word_count: int) -> int:
    """How often one three-word phrase may occur before it reads as repetition."""
    return max(3, 3 * word_count // 1000)


@dataclass(frozen=True)
class TextBlock:
    kind: str  # "paragraph", "heading", "th", "td" (a table cell) or "html" (a raw HTML block)
    nested: bool  # inside a list item, a quote or a table
    text: str
    level: int = 0  # a heading's level (1 for `# Title`), 0 for any other block


@lru_cache(maxsize=1024)
def text_blocks(markdown: str) -> tuple[TextBlock, ...]:
    """The blocks of text a reader reads, in order; code blocks are left out, and so is any block
    with no text (an image on its own, a rule)."""
    blocks, tokens = [], _reader.parse(markdown or "")
    for index, token in enumerate(tokens):
        if token.type == "inline":
            parent = tokens[index - 1]
            kind = parent.type.removesuffix("_open")
            level = int(parent.tag[1:]) if kind == "heading" else 0
            block = TextBlock(kind, parent.level > 0, _inline_text(token.children or []), level)
        elif token.type == "html_block":
            text = html.unescape(nh3.clean(token.content, tags=set())) if is_html(token.content) else token.content
            block = TextBlock("html", token.level > 0, text)
        else:
            continue
        if block.text.strip():
            blocks.append(block)
    return tuple(blocks)


def is_html(raw: str) -> bool:
    """Whether what markdown-it read as raw HTML (`raw` starts with its first tag) is HTML: a
    comment, declaration or processing instruction, or a tag of an HTML element in lower case."""
    markup = _HTML_MARKUP.match(raw.lstrip())
    return markup is not None and (markup.group(1) is None or markup.group(1) in HTML_ELEMENTS)


def _inline_text(children) -> str:
    parts, in_autolink, unread = [], False, None
    for token in children:
        if unread:
            if token.type == "html_inline" and token.content.lower().startswith(f"</{unread}"):
                unread = None
        elif token.type == "link_open" and token.markup == "autolink":
            in_autolink = True  # its text is the URL
        elif token.type == "link_close":
            in_autolink = False
        elif token.type == "html_inline" and not is_html(token.content):
            parts.append(token.content)  # `<T>` of `Rc<RefCell<T>>`: text, as the page shows it
        elif token.type == "html_inline":
            element = _UNREAD_ELEMENT.match(token.content)
            unread = element.group(1).lower() if element else None
        elif in_autolink:
            continue
        elif token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return _URL.sub("", _CITATION_AND_SPACE.sub("", "".join(parts))).strip()


def plain_text(markdown: str) -> str:
    """The readable text of a Markdown document: no code, links reduced to their text, no images,
    citations, URLs, raw HTML tags or markup; blocks separated by a blank line."""
    return "\n\n".join(block.text for block in text_blocks(markdown or ""))


def words(markdown: str) -> list[str]:
    return _WORD.findall(plain_text(markdown))


def count_words(markdown: str) -> int:
    return len(words(markdown))


def article_word_count(markdown: str) -> int:
    """How many words a piece has (the module's docstring says which count)."""
    return count_words(without_sources_section(markdown))


def sentences(markdown: str) -> list[str]:
    """Sentences of the prose (headings and list items each count as one)."""
    found = []
    source = _CODE_FENCE.sub(" ", markdown or "")
    for raw in re.split(r"\n\s*\n|\n(?=\s{0,3}(?:#{1,6}\s|>|[-*+]\s|\d+[.)]\s))", source):
        # Dedented: a list item's second paragraph, read on its own, is not an indented code block.
        block = " ".join(plain_text(textwrap.dedent(raw)).split())
        if not block:
            continue
        found.extend(part for part in _SENTENCE_END.split(block) if _WORD.search(part))
    return found


@lru_cache(maxsize=20_000)
def syllables(word: str) -> int:
    word = word.lower().strip("'’")
    if not word:
        return 0
    if word.isdigit():
        return max(1, len(word) // 2)
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)
    word = re.sub(r"^y", "", word)
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def flesch_reading_ease(markdown: str) -> float:
    """Flesch reading ease: 206.835 − 1.015·(words/sentences) − 84.6·(syllables/words).

    About 60–70 is plain English, 30–50 is college level, below 30 is academic.
    """
    all_words = words(markdown)
    sentence_count = max(1, len(sentences(markdown)))
    if not all_words:
        return 0.0
    syllable_count = sum(syllables(word) for word in all_words)
    return 206.835 - 1.015 * (len(all_words) / sentence_count) - 84.6 * (syllable_count / len(all_words))


def average_sentence_length(markdown: str) -> float:
    found = sentences(markdown)
    return (sum(len(_WORD.findall(sentence)) for sentence in found) / len(found)) if found else 0.0
