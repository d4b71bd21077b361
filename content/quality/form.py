"""The form checks: length, structure, readability, keyword use, repetition, sentence length,
placeholders and citation numbers. They measure how an article is built, not what it says; the
content checks are in `substance` and `leakage`, the points table in the package's docstring.
Each check returns a `Check` whose `details` hold what it measured, for revisions.
"""

from __future__ import annotations

import re
from collections import Counter

from content.citations import cited_numbers
from content.providers.base import Brief, Research
from content.quality.report import Check
from content.textstats import (
    STOPWORDS,
    article_word_count,
    average_sentence_length,
    flesch_reading_ease,
    sentences,
    trigram_limit,
    words,
)

PLACEHOLDER = re.compile(
    r"lorem ipsum|\bTODO\b|\bTBD\b|\bFIXME\b|\bXXX\b|\[insert[^\]]*\]|\{\{[^}]*\}\}|\[citation needed\]|<placeholder>",
    re.IGNORECASE,
)
FORM_WEIGHTS = {
    "word_count": 10, "structure": 8, "readability": 4, "keyword": 5,
    "repetition": 4, "sentence_length": 4, "placeholders": 3, "citations": 2,
}


def structure_check(article: str) -> tuple[float, list[str], dict]:
    """Points out of 8 (a quarter for each of title, introduction, three sections, conclusion),
    the findings, and what was found."""
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
    full = FORM_WEIGHTS["structure"]
    findings, points = [], float(full)
    if not title.startswith("# "):
        findings.append("Start with a `# Title` line.")
        points -= full / 4
    if not has_intro:
        findings.append("Add an introduction before the first section.")
        points -= full / 4
    if len(body_sections) < 3:
        findings.append(f"Use at least 3 sections (level-2 headings); there are {len(body_sections)}.")
        points -= full / 4
    if not has_conclusion:
        findings.append("End with a `## Conclusion` section.")
        points -= full / 4
    return max(0.0, points), findings, {
        "sections": body_sections, "has_title": title.startswith("# "), "has_introduction": has_intro,
        "has_conclusion": has_conclusion,
    }


def _readability_band(brief: Brief) -> tuple[float, float]:
    return (30.0, 60.0) if brief.tone == "academic" or brief.style == "technical" else (45.0, 80.0)


def word_count_check(article: str, brief: Brief) -> Check:
    """Full marks inside the brief's range, linearly down to 0 at two tolerances outside it."""
    word_count = article_word_count(article)
    low, high = brief.word_range
    within = low <= word_count <= high
    margin = max(1.0, brief.word_count * brief.word_count_tolerance / 100)
    distance = 0 if within else min(abs(word_count - low), abs(word_count - high))
    full = FORM_WEIGHTS["word_count"]
    check = Check("word_count", round(full * max(0.0, 1 - distance / (2 * margin)), 1), full,
                  details={"words": word_count, "range": [low, high], "within": within})
    if not within:
        direction = "Expand" if word_count < low else "Shorten"
        check.findings.append(
            f"{direction} the article to {low:,}–{high:,} words (target {brief.word_count:,}); it has {word_count:,}."
        )
    return check


def readability_check(article: str, brief: Brief) -> Check:
    ease = flesch_reading_ease(article)
    band_low, band_high = _readability_band(brief)
    off = max(0.0, band_low - ease, ease - band_high)
    full = FORM_WEIGHTS["readability"]
    check = Check("readability", round(full * max(0.0, 1 - off / 30), 1), full,
                  details={"ease": round(ease, 1), "band": [band_low, band_high]})
    if off:
        hint = "Use shorter sentences and plainer words" if ease < band_low else "Use richer, more precise language"
        check.findings.append(f"{hint}: reading ease is {ease:.0f}, the audience wants {band_low:.0f}–{band_high:.0f}.")
    return check


def keyword_check(article: str, brief: Brief) -> Check:
    """The keyword is there, early, at 0.5–2.5 % density; `details["density"]` is None without one."""
    all_words = [w.lower() for w in words(article)]
    full = FORM_WEIGHTS["keyword"]
    check = Check("keyword", full, full, details={"missing": False, "not_in_opening": False, "stuffed": False,
                                                  "sparse": False, "density": None})
    if not brief.primary_keyword:
        return check
    phrase = brief.primary_keyword.lower()
    occurrences = len(re.findall(rf"(?<!\w){re.escape(phrase)}(?!\w)", article.lower()))
    density = 100 * occurrences * max(1, len(phrase.split())) / max(1, len(all_words))
    opening = "\n".join(article.splitlines()[:6]).lower()
    check.details.update(occurrences=occurrences, density=round(density, 2))
    if occurrences == 0:
        check.points = 0
        check.details["missing"] = True
        check.findings.append(f"Use the primary keyword “{brief.primary_keyword}” in the article.")
        return check
    if phrase not in opening:
        check.points -= 0.3 * full
        check.details["not_in_opening"] = True
        check.findings.append(f"Mention “{brief.primary_keyword}” in the title or the introduction.")
    if density > 2.5:
        check.points -= 0.5 * full
        check.details["stuffed"] = True
        check.findings.append(f"The keyword is stuffed ({density:.1f}% of words); keep it under 2.5%.")
    elif density < 0.5 and len(all_words) > 400:
        check.points -= 0.2 * full
        check.details["sparse"] = True
        check.findings.append(f"Use “{brief.primary_keyword}” a little more ({density:.2f}% of words).")
    check.points = round(check.points, 1)
    return check


def repetition_check(article: str) -> Check:
    all_words = [w.lower() for w in words(article)]
    sentence_list = [" ".join(s.lower().split()) for s in sentences(article)]
    repeated = [s for s, n in Counter(s for s in sentence_list if len(s.split()) > 4).items() if n > 1]
    trigrams = Counter(zip(all_words, all_words[1:], all_words[2:]))
    allowed = trigram_limit(len(all_words))
    overused = [" ".join(t) for t, n in trigrams.most_common(5) if n > allowed and not set(t) <= STOPWORDS]
    full = FORM_WEIGHTS["repetition"]
    check = Check("repetition", full, full, details={"repeated_sentences": repeated, "overused_phrases": overused})
    if repeated:
        check.points -= min(0.6 * full, 0.2 * full * len(repeated))
        check.findings.append(f"Remove {len(repeated)} repeated sentence(s), e.g. “{repeated[0][:80]}”.")
    if overused:
        check.points -= min(0.4 * full, 0.2 * full * len(overused))
        check.findings.append("Vary the phrasing of: " + "; ".join(f"“{p}”" for p in overused[:3]) + ".")
    check.points = round(check.points, 1)
    return check


def sentence_length_check(article: str) -> Check:
    average = average_sentence_length(article)
    long_sentences = [s for s in sentences(article) if len(s.split()) > 45]
    full = FORM_WEIGHTS["sentence_length"]
    check = Check("sentence_length", full, full, details={"average": round(average, 1),
                                                          "long_sentences": len(long_sentences)})
    if not 12 <= average <= 24:
        check.points -= full / 2
        check.findings.append(f"Average sentence length is {average:.0f} words; aim for 12–24.")
    if long_sentences:
        check.points -= min(full / 2, full / 10 * len(long_sentences))
        check.findings.append(f"Split {len(long_sentences)} sentence(s) longer than 45 words.")
    return check


def placeholders_check(article: str) -> Check:
    placeholders = sorted({m.group(0) for m in PLACEHOLDER.finditer(article)})
    full = FORM_WEIGHTS["placeholders"]
    return Check("placeholders", 0 if placeholders else full, full,
                 [f"Remove leftover placeholders: {', '.join(placeholders)}."] if placeholders else [],
                 {"found": placeholders})


def citations_check(article: str, research: Research) -> Check:
    """Every `[n]` resolves to a research source (whether it should be cited is `leakage`'s call)."""
    numbers = {source.number for source in research.sources}
    cited = cited_numbers(article)
    dangling = sorted(cited - numbers)
    full = FORM_WEIGHTS["citations"]
    check = Check("citations", full if not dangling else 0, full, details={"dangling": dangling})
    if dangling:
        check.findings.append(
            "Remove or fix citations that match no source: " + ", ".join(f"[{n}]" for n in dangling) + "."
        )
    return check


def form_checks(article: str, brief: Brief, research: Research) -> list[Check]:
    points, findings, structure = structure_check(article)
    return [
        word_count_check(article, brief),
        Check("structure", points, FORM_WEIGHTS["structure"], findings, structure),
        readability_check(article, brief),
        keyword_check(article, brief),
        repetition_check(article),
        sentence_length_check(article),
        placeholders_check(article),
        citations_check(article, research),
    ]


def _names_no_audience(brief: Brief, article: str) -> bool:
    audience = " ".join(brief.target_audience.split()).rstrip(".").lower()
    return bool(audience) and audience not in " ".join(article.split()).lower()


def missing_sections(brief: Brief, structure: dict, *, at_least: int = 0, asked: str = "") -> tuple[str, ...]:
    """Headings of the sections an article lacks: body sections up to three (and at least
    `at_least` new ones), then a conclusion if it has none. `structure` is the structure check's
    details; `asked` is what a reviewer wrote, and the angles it names come first ("it needs a
    section on costs" asks for costs before common questions)."""
    present = {heading.lower() for heading in structure["sections"]}
    subject = brief.topic.strip().rstrip(".?!")
    said = set(re.findall(r"[a-z]+(?:-[a-z]+)*", asked.lower()))
    angles = sorted(EXTRA_ANGLES, key=lambda angle: not said & ANGLE_WORDS[angle])
    candidates = [f"{subject}: {angle}" for angle in angles]
    fresh = [heading for heading in candidates if heading.lower() not in present]
    wanted = max(at_least, 3 - len(structure["sections"]))
    headings = tuple(fresh[:wanted])
    return headings + (() if structure["has_conclusion"] else ("Conclusion",))


# Angles for sections a writer is asked to add, in order of preference, and the words by which a
# reviewer asks for each.
ANGLE_WORDS = {
    "common questions": frozenset({"question", "questions", "faq", "faqs"}),
    "practical steps": frozenset({"step", "steps", "step-by-step", "how-to", "instructions"}),
    "what to watch next": frozenset({"future", "outlook", "trends"}),
    "common mistakes": frozenset({"mistake", "mistakes", "pitfall", "pitfalls"}),
    "costs and trade-offs": frozenset({"cost", "costs", "price", "prices", "money", "budget", "trade-off",
                                       "trade-offs", "savings"}),
    "how to get started": frozenset({"start", "started", "beginners", "beginner", "newcomers"}),
}
EXTRA_ANGLES = tuple(ANGLE_WORDS)
