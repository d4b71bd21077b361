"""From ranked material to an article, and back: select, group, order, connect, render, parse.

Selection takes the best-scoring sentences that are on the brief's topic, skipping near-repeats,
until the brief's word count is reached or the material runs out (a short piece is never padded).
The best one or two open the piece; the most central remaining one closes it; the rest are
grouped into sections around seed sentences that differ from each other (maximal marginal
relevance), each section keeps the order its sources said things in, and its heading is the
phrase it says most and the rest least. A sentence from a public source carries `[n]`; the first
time a source is used, its name may lead the sentence ("According to …"). The editor's notes are
used unnamed and uncited.

`Article` is the editable form that `writer.revise` works on: a title and parts (the untitled
introduction first) of paragraphs of sentences. This module imports `material`, `ranking` and
`outline` (for titles), `content.textstats` for the word count and `content.citations`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from content.citations import CITATION
from content.providers.base import Brief
from content.providers.offline.material import Material, Passage, normalized
from content.providers.offline.outline import subject, title_case, title_for
from content.providers.offline.ranking import Ranker, key_phrase
from content.textstats import article_word_count, count_words

NEAR_REPEAT = 0.7  # cosine similarity above which a sentence adds nothing to one already chosen
MIN_SECTION_SENTENCES = 2
WORDS_PER_SECTION = 120
MAX_SECTIONS = 6
MAX_PARAGRAPH_SENTENCES = 4
CONCLUSION_HEADINGS = {"listicle": "Key Takeaways", "thought_leadership": "What It Adds Up To"}
# First words after which "According to <source>, " reads naturally once the word is lower-cased.
_LOWERABLE = frozenset("""a an the in on at for by most many some more less about around over under nearly almost
this that these those when if while although because after before during since there it its""".split())
_SENTENCE_END = re.compile(rf"(?<=[.!?])(?:\s*{CITATION.pattern})?[\"'”’)]*\s+(?=[A-Z0-9\"“‘(])")
_SITE_SUFFIX = re.compile(r"\s+[-|–—:]\s+[^-|–—:]+$")


@dataclass
class Paragraph:
    sentences: list[str]
    raw: str = ""  # a block kept as written (a list, a quote, a table): never split or rewritten

    def render(self) -> str:
        return self.raw or " ".join(self.sentences)


@dataclass
class Part:
    heading: str  # "" for the introduction
    paragraphs: list[Paragraph] = field(default_factory=list)

    def sentences(self) -> list[str]:
        return [s for paragraph in self.paragraphs if not paragraph.raw for s in paragraph.sentences]


@dataclass
class Article:
    title: str
    parts: list[Part]  # the introduction (heading "") first

    def render(self) -> str:
        lines = [f"# {self.title}", ""]
        for part in self.parts:
            body = [paragraph.render() for paragraph in part.paragraphs if paragraph.render().strip()]
            if not body and part.heading:
                continue
            if part.heading:
                lines += [f"## {part.heading}", ""]
            for text in body:
                lines += [text, ""]
        return "\n".join(lines).rstrip() + "\n"

    @property
    def words(self) -> int:
        return article_word_count(self.render())

    @property
    def intro(self) -> Part:
        return self.parts[0]

    def sections(self) -> list[Part]:
        return [part for part in self.parts[1:] if not is_conclusion(part.heading)]

    def conclusion(self) -> Part | None:
        return next((part for part in self.parts[1:] if is_conclusion(part.heading)), None)


def is_conclusion(heading: str) -> bool:
    plain = re.sub(r"^\d+[.)]\s*", "", heading).strip().lower()
    return plain in {"conclusion", "conclusions", "summary", "in summary", "key takeaways", "what it adds up to",
                     "final thoughts", "wrapping up"}


# --- choosing --------------------------------------------------------------------------------
def ranked(material: Material, ranker: Ranker) -> list[Passage]:
    """The on-topic passages, best first (ties in material order)."""
    scored = [(ranker.score(p.text), p) for p in material.passages if ranker.on_topic(p.text)]
    return [p for _, p in sorted(scored, key=lambda item: (-item[0], item[1].position))]


def is_repeat(text: str, chosen: list[str], ranker: Ranker) -> bool:
    return any(ranker.similarity(text, other) > NEAR_REPEAT for other in chosen)


def select(candidates: list[Passage], ranker: Ranker, *, words: int, ceiling: int,
           already: list[str] = ()) -> list[Passage]:
    """Passages in rank order, no near-repeats (of each other or of `already`), until `words`
    words are reached; a passage that would pass `ceiling` is skipped for a shorter one."""
    chosen: list[Passage] = []
    texts = list(already)
    total = 0
    for passage in candidates:
        if total >= words:
            break
        if total + passage.words > ceiling or is_repeat(passage.text, texts, ranker):
            continue
        chosen.append(passage)
        texts.append(passage.text)
        total += passage.words
    return chosen


# --- grouping --------------------------------------------------------------------------------
def group(passages: list[Passage], ranker: Ranker, count: int) -> list[list[Passage]]:
    """`passages` (best first) in at most `count` groups: seeds chosen by maximal marginal
    relevance (good, and unlike the seeds before), every other passage joining the seed it is
    most like. A group of one joins its nearest neighbour."""
    if not passages:
        return []
    seeds = [passages[0]]
    while len(seeds) < min(count, len(passages)):
        rest = [p for p in passages if p not in seeds]
        seeds.append(max(rest, key=lambda p: (
            ranker.score(p.text) - max(ranker.similarity(p.text, s.text) for s in seeds), -p.position)))
    groups: list[list[Passage]] = [[seed] for seed in seeds]
    capacity = math.ceil(len(passages) / len(seeds) * 1.5)  # no section swallows the piece
    for passage in passages:
        if passage in seeds:
            continue
        open_groups = [i for i in range(len(seeds)) if len(groups[i]) < capacity] or list(range(len(seeds)))
        best = max(open_groups, key=lambda i: (
            ranker.similarity(passage.text, " ".join(p.text for p in groups[i])), -i))
        groups[best].append(passage)
    while len(groups) > 1 and min(len(g) for g in groups) < MIN_SECTION_SENTENCES:
        small = min(range(len(groups)), key=lambda i: (len(groups[i]), -i))
        lonely = groups.pop(small)
        target = max(range(len(groups)), key=lambda i: (
            max(ranker.similarity(lonely[0].text, p.text) for p in groups[i]), -i))
        groups[target].extend(lonely)
    return [sorted(g, key=lambda p: p.position) for g in groups]


def heading_for(texts: list[str], elsewhere: list[str], ranker: Ranker, taken: list[str]) -> str:
    phrase = key_phrase(texts, elsewhere, ranker, avoid=taken)
    heading = title_case(phrase) if phrase else ""
    if not heading or heading.lower() in {t.lower() for t in taken}:
        heading = f"More on {title_case(phrase or 'the Sources')}"
        number = 2
        while heading.lower() in {t.lower() for t in taken}:
            heading, number = f"More on {title_case(phrase or 'the Sources')} ({number})", number + 1
    return heading


# --- connecting ------------------------------------------------------------------------------
def short_name(title: str) -> str:
    """A source's name for "According to …": its title without a trailing site name, if short."""
    name = " ".join(title.split())
    while _SITE_SUFFIX.search(name) and len(name.split()) > 3:
        name = _SITE_SUFFIX.sub("", name)
    return name if 0 < len(name.split()) <= 8 and not re.search(r"https?://|[\[\]]", name) else ""


def attributed(passage: Passage, material: Material) -> str:
    """The passage as cited text, led by its source's name when the sentence allows it."""
    source = material.source(passage.number) if passage.number is not None else None
    first = passage.text.split(" ", 1)[0]
    name = short_name(source.title) if source else ""
    if not name or first.lower() not in _LOWERABLE or first.isupper() and len(first) > 1:
        return passage.cited
    return f"According to {name}, {passage.cited[0].lower()}{passage.cited[1:]}"


def paragraphs_of(passages: list[Passage], material: Material, introduced: set[int]) -> list[Paragraph]:
    """Sentences into paragraphs: a new paragraph when the source changes or one is full."""
    paragraphs: list[Paragraph] = []
    last_source: object = object()
    for passage in passages:
        if passage.number is not None and passage.number not in introduced:
            text = attributed(passage, material)
            introduced.add(passage.number)
        else:
            text = passage.cited
        if not paragraphs or passage.number != last_source or len(paragraphs[-1].sentences) >= MAX_PARAGRAPH_SENTENCES:
            paragraphs.append(Paragraph([text]))
        else:
            paragraphs[-1].sentences.append(text)
        last_source = passage.number
    return paragraphs


# --- the whole piece -------------------------------------------------------------------------
def section_count(words: int, sentences: int) -> int:
    return max(1, min(MAX_SECTIONS, round(words / WORDS_PER_SECTION), sentences // MIN_SECTION_SENTENCES))


def compose(brief: Brief, material: Material, ranker: Ranker, *, title: str = "") -> Article:
    """The article the material allows for `brief`: at most the brief's length, never padded."""
    candidates = ranked(material, ranker)
    low, high = brief.word_range
    overhead = count_words(title_for(brief)) + 3 * (section_count(brief.word_count, len(candidates)) + 1)
    chosen = select(candidates, ranker, words=brief.word_count - overhead, ceiling=high - overhead)
    introduced: set[int] = set()
    opening = chosen[: 2 if len(chosen) >= 10 else 1]
    rest = chosen[len(opening):]
    closing: list[Passage] = []
    if len(rest) >= 5:
        # The sentence nearest to what the whole material says closes the piece.
        closing = [max(rest, key=lambda p: (ranker.to_material(p.text) + ranker.to_brief(p.text), -p.position))]
        rest = [p for p in rest if p not in closing]
    groups = group(rest, ranker, section_count(sum(p.words for p in rest), len(rest)))
    groups.sort(key=lambda g: min(chosen.index(p) for p in g))
    headline = title or _title(brief, len(groups))
    article = Article(title=headline, parts=[Part("", paragraphs_of(opening, material, introduced))])
    taken = [headline, subject(brief)]
    for number, members in enumerate(groups, start=1):
        others = [p.text for g in groups if g is not members for p in g]
        heading = heading_for([p.text for p in members], others, ranker, taken)
        taken.append(heading)
        shown = f"{number}. {heading}" if brief.style == "listicle" else heading
        article.parts.append(Part(shown, paragraphs_of(members, material, introduced)))
    if closing:
        article.parts.append(Part(CONCLUSION_HEADINGS.get(brief.style, "Conclusion"),
                                  paragraphs_of(closing, material, introduced)))
    return article


def _title(brief: Brief, sections: int) -> str:
    if brief.title.strip() or brief.style != "listicle" or sections < 2:
        return title_for(brief)
    return f"{sections} Things to Know About {title_case(subject(brief))}"


# --- reading an article back -----------------------------------------------------------------
def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def parse(markdown: str, fallback_title: str) -> Article:
    """An article in the shape this writer (or a person) wrote it, ready to change."""
    title = fallback_title
    parts = [Part("")]
    for block in re.split(r"\n[ \t]*\n", markdown.strip()):
        block = block.strip()
        if not block:
            continue
        first, _, rest = block.partition("\n")
        if first.startswith("# ") and title == fallback_title and len(parts) == 1 and not parts[0].paragraphs:
            title = first[2:].strip() or fallback_title
            block = rest.strip()
        elif first.startswith("## "):
            parts.append(Part(first[3:].strip()))
            block = rest.strip()
        if not block:
            continue
        if re.match(r"^\s*(?:[-*+>|]|\d+[.)]\s|#{3,6}\s|```)", block):
            parts[-1].paragraphs.append(Paragraph([], raw=block))
        else:
            parts[-1].paragraphs.append(Paragraph(split_sentences(block)))
    return Article(title=title, parts=parts)


def passage_of(sentence: str, material: Material) -> Passage | None:
    """The material passage a sentence of an article carries, if it carries one."""
    key = normalized(re.sub(r"^According to [^,]+, ", "", sentence))
    return next((p for p in material.passages if normalized(p.text) == key), None)
