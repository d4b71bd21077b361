"""What the offline writer may write from: the sentences of the research, each knowing its source.

Two kinds of material reach the writer. Public sources — fetched pages (`web`), search results
(`search`) and our own related posts (`internal`) — are quoted in `Research.sources`; a sentence
taken from one carries its number and is cited `[n]` wherever it is used. The editor's pasted
notes (`pasted`) are private: their content may be used, but they are never cited, listed or
named. The notes' full text is in `Research.notes`; it is found there by content (the section that
holds a pasted source's quote), not by a label, and when it cannot be found the pasted quotes are
used instead. Any other kind of source is left alone.

Sentences that are not about the world are dropped: those cut off mid-way (`…`), fragments, and
notes addressed to the writer ("Mention…", "Don't…", "the draft…"), which must never reach an
article. This module imports `base`, `content.citations` and `content.textstats` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.citations import CITATION
from content.providers.base import Research, Source
from content.textstats import count_words, sentences

MIN_WORDS, MAX_WORDS = 5, 70
ANCHOR_CHARS = 50  # of a pasted quote, enough to find the notes it was cut from

_HEADING_LINE_WHOLE = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)
_SENTENCE_STOP = re.compile(r"[.!?][\"'”’)]*(?=\s+[A-Z0-9\"“‘(]|$)")
_TRUNCATED = re.compile(r"(?:…|\.\.\.)[\"'”’)]*$")
_FINAL_STOP = re.compile(r"[.!?][\"'”’)]*$")
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|these|those|that|they|them|their|he|she|his|her|such|both|however|but|also|and|so|then|"
    r"there|here|instead|otherwise|still|yet|meanwhile|likewise|similarly|the latter|the former)\b",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(r"^(?:source|sources|note|notes|todo|tbd|nb)\s*:", re.IGNORECASE)
_TO_THE_WRITER = re.compile(
    r"^(?:please\s+|pls\s+)?(?:mention|include|write|cover|cite|add|avoid|remember|make sure|ensure|focus on|"
    r"don['’]t|do not|never|always|be sure|emphasi[sz]e|highlight|stress|explain|describe|discuss|talk about|"
    r"aim for|link to|check|say that|tell (?:readers|them))\b",
    re.IGNORECASE,
)
_ABOUT_THE_WRITING = re.compile(
    r"\b(?:the|this|our|your|my) (?:draft|article|post|piece|writer|blog post|copy|brief|outline)\b"
    r"|\bword count\b|\b(?:primary )?keyword\b|\bSEO\b|\bmust not cite\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Passage:
    """One sentence of material: its text (ending with a stop, without citation), the number of
    the public source to cite with it (None for the editor's private notes), and its place in
    the material, which keeps the order in which a source says things."""

    text: str
    number: int | None
    position: int

    @property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def cited(self) -> str:
        """The text as it reads in an article: a public source's citation before each stop (a
        passage may be two sentences, when the second leans on the first)."""
        if self.number is None:
            return self.text
        return _SENTENCE_STOP.sub(lambda m: f" [{self.number}]{m.group(0)}", self.text)


@dataclass(frozen=True)
class Material:
    passages: tuple[Passage, ...]
    sources: tuple[Source, ...]  # the public sources, the only ones an article may cite

    @property
    def words(self) -> int:
        return sum(passage.words for passage in self.passages)

    def source(self, number: int) -> Source | None:
        return next((source for source in self.sources if source.number == number), None)


def normalized(text: str) -> str:
    """A sentence's identity: lower case, citations and punctuation gone, spaces collapsed."""
    text = CITATION.sub(" ", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def usable_sentence(text: str) -> str | None:
    """`text` as a sentence an article may carry, or None when it is not one (a fragment, a
    truncated quote, a line addressed to the writer)."""
    text = " ".join(text.split()).strip()
    text = re.sub(r"^[-*+•]\s+|^\d+[.)]\s+", "", text)
    if not text or _TRUNCATED.search(text) or _LEAD_IN.match(text) or text.endswith(":"):
        return None
    if _TO_THE_WRITER.match(text) or _ABOUT_THE_WRITING.search(text):
        return None
    if not MIN_WORDS <= count_words(text) <= MAX_WORDS:
        return None
    if not _FINAL_STOP.search(text):
        text = text.rstrip(",;") + "."
    return text[0].upper() + text[1:]


def _sections(markdown: str) -> list[str]:
    """The bodies of a Markdown document's sections (the text between heading lines), without
    block quotes: a list of sources quotes them, and a quote is not the notes it was cut from."""
    bodies = _HEADING_LINE_WHOLE.split(markdown or "")
    return [body for body in ("\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith(">"))
                              for chunk in bodies) if body.strip()]


def _anchor(quote: str) -> str:
    return " ".join(quote.replace("…", " ").split())[:ANCHOR_CHARS].strip()


def private_notes(research: Research) -> list[str]:
    """The editor's pasted notes, as full as the research notes hold them."""
    anchors = [_anchor(s.quote) for s in research.sources if s.is_private and _anchor(s.quote)]
    if not anchors:
        return []
    found = []
    for body in _sections(research.notes):
        flat = " ".join(body.split())
        if any(anchor in flat for anchor in anchors) and body not in found:
            found.append(body)
    if found:
        return found
    return [s.quote for s in research.sources if s.is_private and s.quote]


def collect(research: Research) -> Material:
    """Every usable sentence of the research, public sources first when a sentence is in both
    (so that it is cited), each sentence once."""
    public = tuple(s for s in research.sources if not s.is_private)
    raw: list[tuple[str, int | None]] = []
    for source in public:
        raw += [(sentence, source.number) for sentence in sentences(source.quote)]
    for notes in private_notes(research):
        raw += [(sentence, None) for sentence in sentences(notes)]
    passages, seen = [], set()
    previous: tuple[str, int | None] | None = None
    for text, number in raw:
        sentence = usable_sentence(text)
        follows_on = previous is not None and previous[1] == number and _LEANS_BACK.match(text.strip())
        previous = (text, number)
        if follows_on and passages and passages[-1].number == number and sentence is not None:
            # "It …", "These …": a sentence that leans on the one before travels with it.
            last = passages.pop()
            sentence = f"{last.text} {sentence}"
            seen.discard(normalized(last.text))
        if sentence is None or normalized(sentence) in seen:
            continue
        seen.add(normalized(sentence))
        passages.append(Passage(text=sentence, number=number, position=len(passages)))
    return Material(passages=tuple(passages), sources=public)
