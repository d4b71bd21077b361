"""The content checks: is each paragraph about the brief (`relevance`), does the piece draw on
and cite its research material (`grounding`), and how much of it would fit any topic (`generic`).

They compare the article's words, lightly stemmed, with the vocabulary of the brief and of the
research material (`vocabulary`). The floors and targets below were set on the labelled set in
`tests/data/quality/` (see `docs/quality.md` and `bench/quality_calibration.py`), not on any
writer's output.
"""

from __future__ import annotations

import re

from content.citations import CITATION, cited_numbers
from content.providers.base import Brief, Research
from content.quality.report import Check
from content.quality.vocabulary import (
    COMMON,
    STOP,
    Vocabulary,
    content_words,
    is_private,
    paragraphs,
    split_sentences,
    stem,
    stems_of,
    tokens,
    topical,
)

SUBSTANCE_WEIGHTS = {"relevance": 30, "grounding": 20, "generic": 10}

# Relevance: the share of a paragraph's content words found in the brief's and the material's
# vocabulary. At TARGET a paragraph earns full marks; under FLOOR it is named as off-topic.
# Without research material the vocabulary is the brief's few words, so both are lower.
RELEVANCE_TARGET, RELEVANCE_FLOOR = 0.30, 0.12
RELEVANCE_TARGET_BRIEF_ONLY, RELEVANCE_FLOOR_BRIEF_ONLY = 0.08, 0.03
# The points: the paragraphs' mean mark, scaled down by the share of off-topic paragraphs (every
# section must be about the brief), for 80 %; a title that names the brief's subject, 20 %.
TITLE_SHARE = 0.2
MIN_PARAGRAPH_WORDS = 8  # shorter paragraphs (a one-line conclusion) are not judged

# Grounding: a sentence draws on the material when it cites a source or uses at least
# DRAWN_MIN_WORDS of the material's words that are not in the brief; at DRAWN_TARGET of the
# sentences that part earns full marks.
DRAWN_MIN_WORDS, DRAWN_TARGET = 2, 0.35
BACKING_MIN_WORDS = 2  # a citation counts when its sentence shares this many words with the source

# Claims about the world: numbers, years, percentages and appeals to studies or experts.
CLAIM = re.compile(
    r"\d|\bper ?cent\b|\b(?:studies|study|research|researchers|scientists|surveys?|data|experts?|evidence)"
    r" (?:show|shows|showed|suggest|suggests|found|finds|say|says|indicate|indicates)\b|\baccording to\b",
    re.IGNORECASE,
)

# Generic: a sentence with no word of the topic vocabulary whose words are at least this share
# function and filler words. Up to GENERIC_FREE of the sentences are allowed; at GENERIC_ZERO
# the check earns nothing.
GENERIC_COMMON_SHARE = 0.75
GENERIC_FREE, GENERIC_ZERO = 0.10, 0.40
MIN_SENTENCE_WORDS = 5


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def _share(words: list[str], vocabulary: frozenset[str]) -> float:
    return sum(stem(word) in vocabulary for word in words) / len(words) if words else 0.0


def relevance_check(article: str, brief: Brief, vocabulary: Vocabulary) -> Check:
    """Each paragraph's share of content words from the brief and the material, marked from 0 at
    half the floor to 1 at the target; each paragraph under the floor is named, and the title
    must name the brief's subject."""
    target, floor = ((RELEVANCE_TARGET, RELEVANCE_FLOOR) if vocabulary.has_material
                     else (RELEVANCE_TARGET_BRIEF_ONLY, RELEVANCE_FLOOR_BRIEF_ONLY))
    full = SUBSTANCE_WEIGHTS["relevance"]
    sections: dict[str, list[float]] = {}
    off_topic, marks = [], []
    for paragraph in paragraphs(article):
        words = content_words(paragraph.text)
        if len(words) < MIN_PARAGRAPH_WORDS:
            continue
        share = _share(words, vocabulary.topic)
        sections.setdefault(paragraph.section, []).append(round(share, 3))
        marks.append(_clip((share - floor / 2) / (target - floor / 2)))
        if share < floor:
            off_topic.append({"section": paragraph.section, "paragraph": paragraph.index, "share": round(share, 3),
                              "text": " ".join(paragraph.text.split())[:120]})
    title = next((line[2:].strip() for line in article.splitlines() if line.startswith("# ")), "")
    core = stems_of(" ".join([brief.topic, brief.title, brief.primary_keyword]))
    title_on_topic = bool(stems_of(title) & core) if title else True  # a missing title is `structure`'s
    off_share = len(off_topic) / len(marks) if marks else 1.0
    mean = sum(marks) / len(marks) if marks else 0.0
    points = full * ((1 - TITLE_SHARE) * mean * (1 - off_share) + TITLE_SHARE * title_on_topic)
    check = Check("relevance", round(points, 1), full, details={
        "sections": [{"heading": heading, "paragraphs": shares} for heading, shares in sections.items()],
        "off_topic": off_topic, "target": target, "floor": floor, "material": vocabulary.has_material,
        "title_on_topic": title_on_topic,
    })
    subject = brief.topic.strip().rstrip(".?!") or "the brief"
    for item in off_topic[:5]:
        check.findings.append(
            f"Section “{item['section']}”, paragraph {item['paragraph']} is not about {subject} "
            f"({item['share']:.0%} of its words come from the brief and the research): “{item['text'][:70]}…”."
        )
    if len(off_topic) > 5:
        check.findings.append(f"{len(off_topic) - 5} more paragraph(s) are off the topic.")
    if not title_on_topic:
        check.findings.append(f"The title “{title}” does not name {subject}.")
    if not marks:
        check.findings.append(f"There is no prose about {subject} to judge.")
    return check


def _prose_sentences(article: str) -> list[str]:
    return [sentence for paragraph in paragraphs(article) for sentence in split_sentences(paragraph.text)
            if len(tokens(sentence)) >= MIN_SENTENCE_WORDS]


def grounding_check(article: str, research: Research, vocabulary: Vocabulary) -> Check:
    """How much of the piece draws on the research material, whether it cites the public sources,
    and whether its claims (numbers, years, "studies show") carry a citation. Without material
    the piece is unsupported and earns nothing here."""
    full = SUBSTANCE_WEIGHTS["grounding"]
    sentences = _prose_sentences(article)
    public = {source.number for source in research.sources if not is_private(source)}
    specific = vocabulary.material - vocabulary.brief
    claims = [sentence for sentence in sentences if CLAIM.search(CITATION.sub("", sentence))]
    uncited = [sentence for sentence in claims if not CITATION.search(sentence)]
    details = {"material": vocabulary.has_material, "sentences": len(sentences), "claims": len(claims),
               "uncited_claims": [sentence[:160] for sentence in uncited], "drawn": 0.0,
               "sources_cited": [], "public_sources": sorted(public)}
    check = Check("grounding", 0.0, full, details=details)
    if not vocabulary.has_material:
        check.findings.append(
            "Unsupported: there is no research material behind this piece (no notes, no sources), so none of "
            "its claims can be checked. Add notes or sources to the brief."
        )
        if uncited:
            check.findings.append(f"{len(uncited)} sentence(s) state numbers or findings with nothing to back "
                                  f"them, e.g. “{uncited[0][:100]}”.")
        return check

    source_words = {source.number: stems_of(f"{source.title} {source.quote}") - vocabulary.brief
                    for source in research.sources if source.number in public}

    def backed(sentence: str) -> set[int]:
        """The public sources the sentence cites and shares a word with (beyond the brief's)."""
        words = {stem(word) for word in content_words(sentence)}
        return {n for n in cited_numbers(sentence)
                if len(words & source_words.get(n, set())) >= BACKING_MIN_WORDS}

    def drawn(sentence: str) -> bool:
        return bool(backed(sentence)) or sum(
            stem(word) in specific for word in set(content_words(sentence))) >= DRAWN_MIN_WORDS

    drawn_share = sum(map(drawn, sentences)) / len(sentences) if sentences else 0.0
    backed_sources = sorted(set().union(*map(backed, sentences))) if sentences else []
    drawn_mark = _clip(drawn_share / DRAWN_TARGET)
    # With public sources, a piece is expected to cite (up to two of) them and to cite its claims;
    # with only the editor's private notes there is nothing to cite, and a claim counts when its
    # sentence draws on the notes.
    if public:
        cite_mark = min(1.0, len(backed_sources) / min(2, len(public)))
        supported = sum(bool(backed(sentence)) for sentence in claims)
    else:
        cite_mark = drawn_mark
        supported = sum(map(drawn, claims))
    # A piece without claims has nothing to cite; its claim mark follows how much it draws on the
    # material, so that saying nothing checkable earns nothing extra.
    claim_mark = supported / len(claims) if claims else drawn_mark
    check.points = round(full * (0.5 * drawn_mark + 0.25 * cite_mark + 0.25 * claim_mark), 1)
    unbacked = [sentence for sentence in sentences
                if cited_numbers(sentence) & public and not backed(sentence)]
    details.update(drawn=round(drawn_share, 3), sources_cited=backed_sources,
                   unbacked_citations=[sentence[:160] for sentence in unbacked])
    if drawn_mark < 1:
        check.findings.append(
            f"Only {drawn_share:.0%} of the sentences use the research material; draw on the sources' facts and "
            "quotes."
        )
    if public and not backed_sources:
        check.findings.append("Cite the research sources with [n] where the article uses them (a citation counts "
                              "when its sentence shares words with the source it cites).")
    if unbacked:
        check.findings.append(
            f"{len(unbacked)} sentence(s) cite a source that shares nothing with them, e.g. “{unbacked[0][:100]}”."
        )
    if public and uncited:
        check.findings.append(
            f"{len(uncited)} sentence(s) state numbers or findings without a citation, e.g. “{uncited[0][:100]}”."
        )
    return check


def generic_check(article: str, vocabulary: Vocabulary) -> Check:
    """The share of sentences that would fit any topic: no word of the brief's or material's
    vocabulary, and almost all function and filler words."""
    full = SUBSTANCE_WEIGHTS["generic"]
    sentences = _prose_sentences(article)
    generic = []
    for sentence in sentences:
        words = tokens(sentence)
        if any(stem(word) in vocabulary.topic for word in words if topical(word)):
            continue
        if sum(word in STOP or word in COMMON or len(word) <= 2 for word in words) / len(words) >= GENERIC_COMMON_SHARE:
            generic.append(sentence)
    share = len(generic) / len(sentences) if sentences else 1.0
    mark = _clip(1 - (share - GENERIC_FREE) / (GENERIC_ZERO - GENERIC_FREE))
    check = Check("generic", round(full * mark, 1), full,
                  details={"share": round(share, 3), "sentences": len(sentences), "generic": generic[:20]})
    if share > GENERIC_FREE:
        quoted = "; ".join(f"“{sentence[:90]}”" for sentence in generic[:3])
        check.findings.append(
            f"{len(generic)} of {len(sentences)} sentences would fit any topic; say something specific instead of: "
            f"{quoted}."
        )
    return check
