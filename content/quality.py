"""The QA rubric: a 0–100 score for a draft, with concrete findings a writer can act on.

Eight checks, each worth a fixed number of points (they add up to 100):

| check | points | full marks when |
| --- | --- | --- |
| word_count | 25 | the count is within target ± tolerance; the score falls linearly to 0 at ±3× tolerance |
| structure | 20 | a `# Title`, an introduction before the first section, ≥ 3 `##` sections, a conclusion |
| readability | 15 | Flesch reading ease inside the band for the audience/tone (academic 30–60, else 45–80) |
| keyword | 10 | the primary keyword appears, in the title or introduction, at 0.5–2.5 % density |
| repetition | 10 | no sentence repeated and no word trigram repeated more than 3 times per 1,000 words |
| sentence_length | 10 | average sentence 12–24 words and no sentence over 45 words |
| placeholders | 5 | no leftover placeholders (lorem ipsum, TODO, TBD, [insert …], {{…}}, XXX) |
| citations | 5 | every `[n]` resolves to a research source (and none is cited without sources) |

A draft passes when its score reaches the threshold (default 70) and its word count is inside the
tolerance. Otherwise `revision_for` turns the checks into a `Revision` for the writer: each check
records what it measured in `details` (the sections found, the placeholders, the dangling
citations, how the keyword is used), and the revision is built from those, never from the
findings' wording. The findings travel along as text for people and chat prompts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from content.providers.base import Brief, KeywordChange, Research, Revision
from content.textstats import (
    STOPWORDS,
    average_sentence_length,
    count_words,
    flesch_reading_ease,
    sentences,
    trigram_limit,
    words,
)

PLACEHOLDER = re.compile(
    r"lorem ipsum|\bTODO\b|\bTBD\b|\bFIXME\b|\bXXX\b|\[insert[^\]]*\]|\{\{[^}]*\}\}|\[citation needed\]|<placeholder>",
    re.IGNORECASE,
)
CITATION = re.compile(r"\[(\d+)\]")
WEIGHTS = {
    "word_count": 25, "structure": 20, "readability": 15, "keyword": 10,
    "repetition": 10, "sentence_length": 10, "placeholders": 5, "citations": 5,
}


@dataclass
class Check:
    name: str
    points: float
    max_points: int
    findings: list[str] = field(default_factory=list)  # what to fix, in words, for people and chat prompts
    details: dict = field(default_factory=dict)  # what the check measured, for revisions and display


@dataclass
class QualityReport:
    score: int
    word_count: int
    word_range: tuple[int, int]
    within_tolerance: bool
    checks: list[Check]
    readability: float
    average_sentence_length: float
    keyword_density: float | None
    critique: str = ""

    @property
    def findings(self) -> list[str]:
        return [finding for check in self.checks for finding in check.findings]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["word_range"] = list(self.word_range)
        data["findings"] = self.findings
        return data


def structure_check(article: str) -> tuple[float, list[str], dict]:
    lines = [line.strip() for line in article.splitlines()]
    title = next((line for line in lines if line), "")
    headings = [line[3:].strip() for line in lines if line.startswith("## ")]
    body_sections = [h for h in headings if h.lower() not in ("introduction", "conclusion")]
    first_section = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    intro_start = 1 if title.startswith("# ") else 0
    intro_text = " ".join(line for line in lines[intro_start:first_section] if line and not line.startswith("#"))
    has_intro = bool(intro_text) or any(h.lower() == "introduction" for h in headings)
    has_conclusion = bool(headings) and any(
        word in headings[-1].lower() for word in ("conclusion", "final thoughts", "takeaway", "summary", "wrapping up")
    )
    findings, points = [], 20.0
    if not title.startswith("# "):
        findings.append("Start with a `# Title` line.")
        points -= 5
    if not has_intro:
        findings.append("Add an introduction before the first section.")
        points -= 5
    if len(body_sections) < 3:
        findings.append(f"Use at least 3 sections (`## ` headings); there are {len(body_sections)}.")
        points -= 5
    if not has_conclusion:
        findings.append("End with a `## Conclusion` section.")
        points -= 5
    return max(0.0, points), findings, {
        "sections": body_sections, "has_title": title.startswith("# "), "has_introduction": has_intro,
        "has_conclusion": has_conclusion,
    }


def _readability_band(brief: Brief) -> tuple[float, float]:
    return (30.0, 60.0) if brief.tone == "academic" or brief.style == "technical" else (45.0, 80.0)


def score_article(article: str, brief: Brief, research: Research, *, critique: str = "") -> QualityReport:
    checks: list[Check] = []
    word_count = count_words(article)
    low, high = brief.word_range
    within = low <= word_count <= high

    # Word count: full marks inside the range, linear down to 0 at three tolerances away.
    margin = max(1.0, brief.word_count * brief.word_count_tolerance / 100)
    distance = 0 if within else min(abs(word_count - low), abs(word_count - high))
    wc = Check("word_count", round(25 * max(0.0, 1 - distance / (2 * margin)), 1), 25)
    if not within:
        direction = "Expand" if word_count < low else "Shorten"
        wc.findings.append(
            f"{direction} the article to {low:,}–{high:,} words (target {brief.word_count:,}); it has {word_count:,}."
        )
    checks.append(wc)

    points, findings, structure = structure_check(article)
    checks.append(Check("structure", points, 20, findings, structure))

    ease = flesch_reading_ease(article)
    band_low, band_high = _readability_band(brief)
    off = max(0.0, band_low - ease, ease - band_high)
    readability = Check("readability", round(15 * max(0.0, 1 - off / 30), 1), 15,
                        details={"ease": round(ease, 1), "band": [band_low, band_high]})
    if off:
        hint = "Use shorter sentences and plainer words" if ease < band_low else "Use richer, more precise language"
        readability.findings.append(f"{hint}: reading ease is {ease:.0f}, the audience wants {band_low:.0f}–{band_high:.0f}.")
    checks.append(readability)

    all_words = [w.lower() for w in words(article)]
    density = None
    keyword = Check("keyword", 10, 10,
                    details={"missing": False, "not_in_opening": False, "stuffed": False, "sparse": False})
    if brief.primary_keyword:
        phrase = brief.primary_keyword.lower()
        occurrences = len(re.findall(rf"(?<!\w){re.escape(phrase)}(?!\w)", article.lower()))
        density = 100 * occurrences * max(1, len(phrase.split())) / max(1, len(all_words))
        opening = "\n".join(article.splitlines()[:6]).lower()
        keyword.details["occurrences"] = occurrences
        if occurrences == 0:
            keyword.points = 0
            keyword.details["missing"] = True
            keyword.findings.append(f"Use the primary keyword “{brief.primary_keyword}” in the article.")
        else:
            if phrase not in opening:
                keyword.points -= 3
                keyword.details["not_in_opening"] = True
                keyword.findings.append(f"Mention “{brief.primary_keyword}” in the title or the introduction.")
            if density > 2.5:
                keyword.points -= 5
                keyword.details["stuffed"] = True
                keyword.findings.append(f"The keyword is stuffed ({density:.1f}% of words); keep it under 2.5%.")
            elif density < 0.5 and len(all_words) > 400:
                keyword.points -= 2
                keyword.details["sparse"] = True
                keyword.findings.append(f"Use “{brief.primary_keyword}” a little more ({density:.2f}% of words).")
    checks.append(keyword)

    sentence_list = [" ".join(s.lower().split()) for s in sentences(article)]
    repeated = [s for s, n in Counter(s for s in sentence_list if len(s.split()) > 4).items() if n > 1]
    trigrams = Counter(zip(all_words, all_words[1:], all_words[2:]))
    allowed = trigram_limit(len(all_words))
    overused = [" ".join(t) for t, n in trigrams.most_common(5) if n > allowed and not set(t) <= STOPWORDS]
    repetition = Check("repetition", 10, 10, details={"repeated_sentences": repeated, "overused_phrases": overused})
    if repeated:
        repetition.points -= min(6, 2 * len(repeated))
        repetition.findings.append(f"Remove {len(repeated)} repeated sentence(s), e.g. “{repeated[0][:80]}”.")
    if overused:
        repetition.points -= min(4, 2 * len(overused))
        repetition.findings.append("Vary the phrasing of: " + "; ".join(f"“{p}”" for p in overused[:3]) + ".")
    checks.append(repetition)

    average = average_sentence_length(article)
    long_sentences = [s for s in sentence_list if len(s.split()) > 45]
    length = Check("sentence_length", 10, 10,
                   details={"average": round(average, 1), "long_sentences": len(long_sentences)})
    if not 12 <= average <= 24:
        length.points -= 5
        length.findings.append(f"Average sentence length is {average:.0f} words; aim for 12–24.")
    if long_sentences:
        length.points -= min(5, len(long_sentences))
        length.findings.append(f"Split {len(long_sentences)} sentence(s) longer than 45 words.")
    checks.append(length)

    placeholders = sorted({m.group(0) for m in PLACEHOLDER.finditer(article)})
    checks.append(Check("placeholders", 0 if placeholders else 5, 5,
                        [f"Remove leftover placeholders: {', '.join(placeholders)}."] if placeholders else [],
                        {"found": placeholders}))

    numbers = {source.number for source in research.sources}
    cited = {int(n) for n in CITATION.findall(article)}
    dangling = sorted(cited - numbers)
    citations = Check("citations", 5 if not dangling else 0, 5, details={"dangling": dangling})
    if dangling:
        citations.findings.append(
            "Remove or fix citations that match no source: " + ", ".join(f"[{n}]" for n in dangling) + "."
        )
    checks.append(citations)

    score = round(sum(max(0.0, check.points) for check in checks))
    return QualityReport(
        score=min(100, score), word_count=word_count, word_range=(low, high), within_tolerance=within,
        checks=checks, readability=round(ease, 1), average_sentence_length=round(average, 1),
        keyword_density=None if density is None else round(density, 2), critique=critique,
    )


def passes(report: QualityReport, threshold: int) -> bool:
    return report.score >= threshold and report.within_tolerance


def revision_for(report: QualityReport, brief: Brief, article: str) -> Revision:
    """What the writer must change for the draft to pass, read from what the checks measured."""
    checks = {check.name: check for check in report.checks}
    keyword = checks["keyword"].details
    keyword_change = None
    if keyword["stuffed"]:
        keyword_change = KeywordChange.REDUCE
    elif keyword["missing"] or keyword["not_in_opening"] or keyword["sparse"]:
        keyword_change = KeywordChange.PLACE
    dangling = tuple(f"[{number}]" for number in checks["citations"].details["dangling"])
    critique = (f"Editor's critique: {report.critique}",) if report.critique else ()
    return Revision(
        target_words=None if report.within_tolerance else brief.word_count,
        add_sections=missing_sections(brief, checks["structure"].details),
        remove_phrases=tuple(checks["placeholders"].details["found"]) + dangling,
        keyword=keyword_change,
        # The readability band is the audience's; naming them is how the writer turns to them.
        mention_audience=bool(checks["readability"].findings) and _names_no_audience(brief, article),
        findings=tuple(report.findings) + critique,
        source="qa",
    )


def _names_no_audience(brief: Brief, article: str) -> bool:
    audience = " ".join(brief.target_audience.split()).rstrip(".").lower()
    return bool(audience) and audience not in " ".join(article.split()).lower()


def missing_sections(brief: Brief, structure: dict, *, at_least: int = 0) -> tuple[str, ...]:
    """Headings of the sections an article lacks: body sections up to three (and at least
    `at_least` new ones), then a conclusion if it has none. `structure` is the structure check's
    details."""
    present = {heading.lower() for heading in structure["sections"]}
    subject = brief.topic.strip().rstrip(".?!")
    candidates = [f"{subject}: {angle}" for angle in EXTRA_ANGLES]
    fresh = [heading for heading in candidates if heading.lower() not in present]
    wanted = max(at_least, 3 - len(structure["sections"]))
    headings = tuple(fresh[:wanted])
    return headings + (() if structure["has_conclusion"] else ("Conclusion",))


# Angles for sections a writer is asked to add, in order of preference.
EXTRA_ANGLES = ("common questions", "practical steps", "what to watch next", "common mistakes",
                "costs and trade-offs", "how to get started")
