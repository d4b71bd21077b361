"""What a reviewer's rejection asks the writer to do, as a `Revision`.

The QA loop's revisions come from the rubric (`content.quality.revision_for`); this module makes
the other kind, from the reason codes and words of a reviewer who rejected a version and asked
for a revision. Each reason code that names a fixable problem becomes a concrete change the
writers act on (length, sections, citations, keyword, audience); the rest travel as codes and the
reviewer's words, which a chat model reads and the offline writer cannot act on. It imports the
provider data types and the rubric's structure check; the review services import it.
"""

from __future__ import annotations

from collections.abc import Iterable

from content.providers.base import REVIEW_REASONS, Brief, KeywordChange, Revision
from content.quality import missing_sections, structure_check


def review_revision(
    *, brief: Brief, article: str, reasons: Iterable[str], feedback: str, target_words: int | None = None
) -> Revision:
    """The changes a reviewer's rejection asks for, for `article` written to `brief`.

    `length` brings the article to the reviewer's `target_words`, else to the brief's word count
    (a given `target_words` sets the length whatever the reasons); `structure` adds the sections
    the article lacks, at least one, those the feedback names first; `sources` cites the
    research sources not cited yet; `off_topic` keeps to the topic and places its keyword;
    `tone` asks for the brief's tone and names its audience. `quality`, `factual_error` and
    `other` are carried as reasons with the feedback. Unknown reason codes raise ValueError.
    """
    reasons = tuple(dict.fromkeys(reasons))
    unknown = [reason for reason in reasons if reason not in REVIEW_REASONS]
    if unknown:
        raise ValueError(f"Unknown review reasons: {', '.join(unknown)}; known: {', '.join(REVIEW_REASONS)}.")
    if target_words is None and "length" in reasons:
        target_words = brief.word_count
    _, _, structure = structure_check(article)
    off_topic = "off_topic" in reasons
    tone = "tone" in reasons
    return Revision(
        target_words=target_words,
        add_sections=missing_sections(brief, structure, at_least=1, asked=feedback) if "structure" in reasons else (),
        keyword=KeywordChange.PLACE if off_topic and brief.primary_keyword else None,
        mention_audience=tone and bool(brief.target_audience),
        cite_sources="sources" in reasons,
        stay_on_topic=off_topic,
        follow_tone=tone,
        reasons=reasons,
        feedback=feedback.strip(),
        source="review",
    )
