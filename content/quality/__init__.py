"""The QA rubric: a 0–100 score for a draft, with concrete findings a writer can act on.

Form checks (`form`) measure how the article is built; content checks (`substance`) measure
whether it is about the brief and drawn from its research; `leakage` is a gate. The points add
up to 100:

| check | points | full marks when |
| --- | --- | --- |
| relevance | 30 | every paragraph has ≥ 30 % of its content words from the brief's and the research material's vocabulary (8 % without material), none under the 12 % (3 %) floor, and the title names the subject; off-topic paragraphs are named |
| grounding | 20 | ≥ 35 % of sentences draw on the material (a citation sharing ≥ 2 words with its source, or ≥ 2 material words beyond the brief), the public sources are cited, every number or "studies show" claim carries a matching `[n]`; no material: 0, "unsupported" |
| generic | 10 | ≤ 10 % of sentences would fit any topic (no topic word, ≥ 75 % function/filler words); 0 at 40 % |
| word_count | 10 | the count (`textstats.article_word_count`) is within target ± tolerance; the score falls linearly to 0 at two tolerances outside |
| structure | 8 | a `# Title`, an introduction before the first section, ≥ 3 `##` sections, a conclusion |
| keyword | 5 | the primary keyword appears, in the title or introduction, at 0.5–2.5 % density |
| readability | 4 | Flesch reading ease inside the band for the audience/tone (academic 30–60, else 45–80) |
| repetition | 4 | no sentence repeated and no word trigram repeated more than 3 times per 1,000 words |
| sentence_length | 4 | average sentence 12–24 words and no sentence over 45 words |
| placeholders | 3 | no leftover placeholders (lorem ipsum, TODO, TBD, [insert …], {{…}}, XXX) |
| citations | 2 | every `[n]` resolves to a research source |
| leakage | gate | no instruction, prompt, pipeline note or brief setting, and the editor's private notes never presented as a source; any leak fails the draft whatever its score |

A draft passes when its score reaches the threshold (`PRESSROOM_QA_THRESHOLD`, 70), its word
count is inside the tolerance and nothing leaked. A fluent, well-formed filler piece earns at
most the 40 form points plus what little of the content points its swapped-in topic words buy,
so it stays under 70; `docs/quality.md` shows the distributions on the labelled set that the
thresholds were set on. Otherwise `revision_for` turns the checks into a `Revision` for the
writer: each check records what it measured in `details`, and the revision is built from those,
never from the findings' wording. The findings travel along as text for people and chat prompts.
An editor's critique from a chat model is carried in the report and the revision as before.

Imports flow one way: `report` ← `vocabulary` ← `form`, `substance`, `leakage` ← this module.
"""

from __future__ import annotations

from content.providers.base import Brief, KeywordChange, Research, Revision
from content.quality.form import (
    EXTRA_ANGLES,
    FORM_WEIGHTS,
    PLACEHOLDER,
    _names_no_audience,
    form_checks,
    missing_sections,
    structure_check,
)
from content.quality.leakage import leakage_check
from content.quality.report import Check, QualityReport
from content.quality.substance import SUBSTANCE_WEIGHTS, generic_check, grounding_check, relevance_check
from content.quality.vocabulary import vocabulary_for

WEIGHTS = {**SUBSTANCE_WEIGHTS, **FORM_WEIGHTS}

__all__ = [
    "EXTRA_ANGLES", "PLACEHOLDER", "WEIGHTS", "Check", "QualityReport", "missing_sections", "passes",
    "revision_for", "score_article", "structure_check",
]


def score_article(article: str, brief: Brief, research: Research, *, critique: str = "") -> QualityReport:
    vocabulary = vocabulary_for(brief, research)
    checks = form_checks(article, brief, research) + [
        relevance_check(article, brief, vocabulary),
        grounding_check(article, research, vocabulary),
        generic_check(article, vocabulary),
        leakage_check(article, research),
    ]
    by_name = {check.name: check for check in checks}
    word_count = by_name["word_count"].details
    score = round(sum(max(0.0, check.points) for check in checks))
    return QualityReport(
        score=min(100, score), word_count=word_count["words"], word_range=tuple(word_count["range"]),
        within_tolerance=word_count["within"], checks=checks, readability=by_name["readability"].details["ease"],
        average_sentence_length=by_name["sentence_length"].details["average"],
        keyword_density=by_name["keyword"].details["density"], critique=critique,
    )


def passes(report: QualityReport, threshold: int) -> bool:
    return report.score >= threshold and report.within_tolerance and not report.leaked


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
    leaked = tuple(leak["text"] for leak in checks["leakage"].details["leaks"])
    grounding = checks["grounding"].details
    critique = (f"Editor's critique: {report.critique}",) if report.critique else ()
    return Revision(
        target_words=None if report.within_tolerance else brief.word_count,
        add_sections=missing_sections(brief, checks["structure"].details),
        remove_phrases=tuple(dict.fromkeys(tuple(checks["placeholders"].details["found"]) + dangling + leaked)),
        keyword=keyword_change,
        # The readability band is the audience's; naming them is how the writer turns to them.
        mention_audience=bool(checks["readability"].findings) and _names_no_audience(brief, article),
        cite_sources=bool(grounding["public_sources"]) and (
            not grounding["sources_cited"] or bool(grounding["uncited_claims"])),
        stay_on_topic=bool(checks["relevance"].details["off_topic"]),
        findings=tuple(report.findings) + critique,
        source="qa",
    )
