"""The prompts a chat model is sent: the rules of the system message and one user message per request.

Plain functions of the brief, the research and (for a revision) the structured `Revision`; they
hold no state and call no network. `chat.ChatTextModel` builds its messages from them, so every
chat provider asks the same thing. It imports the provider data types and `content.citations`.
"""

from __future__ import annotations

from dataclasses import replace

from content.citations import cited_numbers
from content.providers.base import REVIEW_REASONS, Brief, KeywordChange, Outline, Research, Revision

# Notes beyond this are cut so that a long paste cannot crowd the article out of the context window.
MAX_NOTES_CHARS = 8000


def system_prompt(brief: Brief) -> str:
    audience = brief.target_audience.strip() or "a general audience"
    rules = [
        "Write in Markdown: one `# Title` line, an introduction of one or two paragraphs without a heading, "
        "one `## ` section per outline heading in the order given, then a `## Conclusion` section.",
        "Stay inside the requested length; only the prose counts.",
        "Never invent sources, studies, statistics, quotations or URLs. Cite with [n] only the numbered "
        "sources you are given, right after the claim taken from source n. Without sources, use no citations.",
        "Write plain, specific sentences. No filler, no placeholders such as \"[insert example]\", no notes "
        "to the editor, nothing before the title or after the conclusion.",
    ]
    if brief.primary_keyword:
        rules.append(
            f"Use the primary keyword \"{brief.primary_keyword}\" naturally: in the title or the introduction "
            "and a few times in the body, never stuffed."
        )
    return (
        f"You are a professional writer. You write {brief.style} articles in a {brief.tone} tone "
        f"for {audience}.\n\nRules you always follow:\n" + "\n".join(f"- {rule}" for rule in rules)
    )


def _brief_lines(brief: Brief) -> list[str]:
    low, high = brief.word_range
    lines = [f"Topic: {brief.topic}"]
    if brief.title:
        lines.append(f"Title (use it exactly): {brief.title}")
    if brief.primary_keyword:
        lines.append(f"Primary keyword: {brief.primary_keyword}")
    if brief.category:
        lines.append(f"Category: {brief.category}")
    if brief.tags:
        lines.append(f"Tags: {', '.join(brief.tags)}")
    lines.append(f"Length: about {brief.word_count} words (between {low} and {high}).")
    return lines


def research_block(research: Research) -> str:
    parts = []
    notes = research.notes.strip()
    if notes:
        if len(notes) > MAX_NOTES_CHARS:
            notes = notes[:MAX_NOTES_CHARS].rsplit(" ", 1)[0] + " […]"
        parts.append(f"Research notes:\n{notes}")
    public = [source for source in research.sources if not source.is_private]
    if any(source.is_private for source in research.sources):
        parts.append("The editor's notes are private: use what they say, but never cite, list or name them.")
    if public:
        lines = ["Numbered sources (cite a claim taken from source n as [n]; cite nothing else):"]
        for source in public:
            line = f"[{source.number}] {source.title}" + (f" — {source.url}" if source.url else "")
            if source.kind == "internal" and source.url:
                line += f" (one of our own posts: you may also link to it as [{source.title}]({source.url}))"
            lines.append(line)
            if source.quote:
                lines.append(f'    "{source.quote}"')
        parts.append("\n".join(lines))
    else:
        parts.append("No sources were provided: write from general knowledge and use no [n] citations.")
    return "\n\n".join(parts)


def section_count(brief: Brief) -> int:
    return min(8, max(3, round(brief.word_count / 250)))


def outline_prompt(brief: Brief, research: Research) -> str:
    return "\n\n".join([
        "Plan an article.",
        "\n".join(_brief_lines(brief)),
        research_block(research),
        f"Give about {section_count(brief)} section headings for the body, in reading order, not counting the "
        "introduction and the conclusion. Headings are short (at most ten words), specific and not numbered.",
        "Answer with JSON only, no other text, in exactly this shape:\n"
        '{"title": "The article title", "sections": ["First heading", "Second heading"]}',
    ])


def write_prompt(brief: Brief, research: Research, outline: Outline) -> str:
    low, high = brief.word_range
    structure = [f"# {outline.title}", "(introduction, no heading)"]
    structure += [f"## {section}" for section in outline.sections]
    structure.append("## Conclusion")
    return "\n\n".join([
        "Write the article.",
        "\n".join(_brief_lines(brief)),
        "Structure:\n" + "\n".join(structure),
        research_block(research),
        f"Write between {low} and {high} words. Return only the article in Markdown.",
    ])


def revise_prompt(brief: Brief, research: Research, article: str, revision: Revision) -> str:
    """The revision as prompt text: the reviewer's reasons and words (quoted, as theirs), the
    concrete changes, and the QA rubric's findings."""
    blocks = ["Revise the article below.", "\n".join(_brief_lines(brief))]
    if revision.source == "review":
        review = ["A human reviewer rejected this version and asked for a revision."]
        if revision.reasons:
            review.append("Reasons given:")
            review += [f"- {reason}: {REVIEW_REASONS[reason]}" for reason in revision.reasons]
        if revision.feedback:
            quoted = "\n".join(f"> {line}" for line in revision.feedback.splitlines())
            review.append("The reviewer's words (instructions to you, not text for the article):\n" + quoted)
        blocks.append("\n".join(review))
    blocks.append("Changes to make:\n" + ("\n".join(_changes(brief, research, article, revision))
                                          or "- Tighten the prose; keep the content."))
    if revision.findings:
        blocks.append("Findings of the quality check:\n" + "\n".join(f"- {finding}" for finding in revision.findings))
    blocks += [
        research_block(research),
        "Keep what is not asked to change, keep the citations that remain true, and keep the structure "
        "(`# Title`, introduction, `## ` sections, `## Conclusion`). Return the whole revised article in "
        "Markdown and nothing else.",
        f"The article:\n\n{article.strip()}",
    ]
    return "\n\n".join(blocks)


def _changes(brief: Brief, research: Research, article: str, revision: Revision) -> list[str]:
    changes = []
    if revision.target_words:
        low, high = replace(brief, word_count=revision.target_words).word_range
        changes.append(f"- Bring the length to about {revision.target_words} words (between {low} and {high}); "
                       "this replaces the length in the brief.")
    changes += [f"- Add a section headed \"## {heading}\" before the conclusion." for heading in revision.add_sections]
    changes += [
        f"- Remove every occurrence of \"{phrase}\", rewriting the sentence." for phrase in revision.remove_phrases
    ]
    if revision.cite_sources and research.sources:
        cited = cited_numbers(article)
        uncited = [f"[{source.number}]" for source in research.sources if source.number not in cited]
        if uncited:
            changes.append(f"- Back claims with the sources not cited yet: {', '.join(uncited)}.")
        else:
            changes.append("- Back every claim taken from the sources with its [n] citation.")
    if revision.stay_on_topic:
        changes.append(f"- Keep every section on the topic \"{brief.topic}\"; cut what strays from it.")
    if revision.keyword == KeywordChange.PLACE and brief.primary_keyword:
        changes.append(f"- Use the primary keyword \"{brief.primary_keyword}\" in the title or introduction, in a "
                       "heading and in the conclusion, at 0.5–2.5% of the words.")
    elif revision.keyword == KeywordChange.REDUCE and brief.primary_keyword:
        changes.append(f"- Use the primary keyword \"{brief.primary_keyword}\" less often: under 2.5% of the words.")
    if revision.follow_tone:
        changes.append(f"- Write in a {brief.tone} tone throughout.")
    if revision.mention_audience and brief.target_audience:
        changes.append(f"- Address the audience ({brief.target_audience}) in the introduction.")
    return changes


def critique_prompt(brief: Brief, article: str) -> str:
    return "\n\n".join([
        "You are now the editor. Critique the article below in three to five sentences: does it serve the "
        "audience and the topic, is it accurate and specific, is anything missing or repeated, are the "
        "claims backed by the cited sources? Be concrete; do not rewrite it.",
        "\n".join(_brief_lines(brief)),
        f"The article:\n\n{article.strip()}",
    ])
