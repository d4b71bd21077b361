"""The outline the offline writer returns when it has no material: a plan, never an article.

Without sources or notes there is nothing true the writer could say about the topic, so it says
nothing: it hands the editor a title, sections, what each should cover and the questions it
should answer, under a notice that this is an outline. The pipeline marks the version
(`TextResult.outline_only` → `ContentVersion.is_outline`) and review refuses to approve it until a
person or a model has written the text. Sections follow the requested style; every line is about
what to find out or write, none states a fact. This module imports `base` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.providers.base import Brief

NOTICE = ("> **Outline — not an article.** No research material was available, so nothing here states a fact "
          "about the topic. Write the text (edit this version), or add notes or sources to the brief and run it "
          "again, or run it with a model, before it can be approved.")
NOTICE_MARK = "**Outline — not an article.**"


@dataclass(frozen=True)
class PlannedSection:
    heading: str
    covers: str
    questions: tuple[str, ...]


# Per style: (heading, what it covers, questions). `{s}` is the subject, `{r}` the readers.
_PLANS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "educational": (
        ("The Basics of {S}", "Define {s} in plain words and say why it matters to {r}.",
         ("How would you define {s} in one sentence?", "Why should {r} care about it?")),
        ("How It Works", "Explain the mechanism or process step by step, with one concrete example.",
         ("What happens first, and what follows?", "Which example makes it clear?")),
        ("Costs, Benefits and Limits", "Weigh what {s} gives against what it takes, with sourced figures.",
         ("What does it cost, in money or time?", "Where does it fall short?")),
        ("Getting Started", "Give the first practical steps a reader can take.",
         ("What should {r} do first?", "What do they need before they begin?")),
        ("Common Mistakes", "Name the mistakes people make with {s} and how to avoid them.",
         ("Which mistakes are most common?", "How can each be avoided?")),
        ("Where to Learn More", "Point to reliable sources and further reading.",
         ("Which sources are trustworthy?", "What should a reader read next?")),
    ),
    "technical": (
        ("Overview of {S}", "State the problem {s} solves and the terms the piece uses.",
         ("Which problem does it solve?", "Which terms need defining?")),
        ("Requirements", "List what is needed: tools, versions, access, prior knowledge.",
         ("What must be in place before starting?",)),
        ("Step-by-Step Setup", "Walk through the procedure in numbered steps that can be checked.",
         ("What are the steps, in order?", "How does one check each step worked?")),
        ("Measuring the Result", "Say how to tell whether it works and what to measure.",
         ("Which numbers show success?", "What are typical values, with a source?")),
        ("Troubleshooting", "Cover the failures people meet and how to fix them.",
         ("What usually goes wrong?", "How is each problem diagnosed?")),
        ("Further Reading", "Point to specifications, documentation and sources.",
         ("Which documents are authoritative?",)),
    ),
    "listicle": (
        ("The Essentials of {S}", "The first point: what every reader should know.",
         ("What is the one essential fact?",)),
        ("A Practical Tip", "A concrete tip on {s}, with an example.", ("Which tip saves the most effort?",)),
        ("A Common Pitfall", "A mistake to avoid, and why it happens.", ("Which pitfall is most common?",)),
        ("A Figure Worth Knowing", "One sourced number that puts {s} in proportion.",
         ("Which number, from which source?",)),
        ("A Resource", "A tool, guide or source worth a reader's time.", ("Which resource, and why that one?",)),
        ("What to Do Next", "The next step for {r}.", ("What should a reader do today?",)),
    ),
    "narrative": (
        ("Where the Story Begins", "Open with a real person, place or moment involving {s}.",
         ("Whose story is it?", "What happened first?")),
        ("The Problem", "Show the difficulty they faced.", ("What was at stake?",)),
        ("What Changed", "Tell what they tried and what happened.", ("What did they do?", "What was the result?")),
        ("What It Means for {R}", "Draw the lesson for {r}, backed by sources.", ("What can a reader take from it?",)),
        ("Looking Ahead", "Say what comes next for the people and for {s}.", ("What is still open?",)),
    ),
    "thought_leadership": (
        ("The State of {S}", "Describe where {s} stands today, with sourced evidence.",
         ("What does the evidence say now?",)),
        ("What Most People Miss", "Make the piece's argument: the point others overlook.",
         ("What is the claim?", "Which evidence supports it?")),
        ("The Case Against", "Give the strongest objection fairly, and answer it.",
         ("What would a sceptic say?",)),
        ("What Leaders Should Do", "Turn the argument into decisions for {r}.", ("Which decisions change?",)),
        ("What Comes Next", "Say what to watch for, and why.", ("What are the signs to look for?",)),
    ),
}


def section_count(word_count: int) -> int:
    return 3 if word_count <= 600 else 4 if word_count <= 1200 else 5


def subject(brief: Brief) -> str:
    """What the piece is about, as a short phrase: the keyword, else the topic. A keyword the
    topic uses in the plural is the plural ("standing desk" in "Standing desks at work" gives
    "standing desks"): keywords are mostly singular, and "About Standing Desk" reads wrong."""
    keyword = " ".join(brief.primary_keyword.split()).rstrip(".?!")
    topic = " ".join(brief.topic.split()).rstrip(".?!")
    if not keyword:
        return topic
    plural = re.search(rf"(?<!\w){re.escape(keyword)}(e?s)(?!\w)", topic, flags=re.IGNORECASE)
    return keyword + plural.group(1) if plural else keyword


def title_case(text: str) -> str:
    """Title case that keeps acronyms and words already capitalised, and small words small."""
    small = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with"}
    out = []
    for index, word in enumerate(text.split()):
        if word[:1].isupper() or any(ch.isupper() for ch in word[1:]) or any(ch.isdigit() for ch in word):
            out.append(word)
        elif index and word.lower() in small:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def title_for(brief: Brief) -> str:
    return " ".join(brief.title.split()) or title_case(" ".join(brief.topic.split()).rstrip(".?!"))


def plan(brief: Brief) -> list[PlannedSection]:
    plans = _PLANS.get(brief.style, _PLANS["educational"])[: section_count(brief.word_count)]
    return [_fill(entry, brief) for entry in plans]


def section_for(heading: str, brief: Brief) -> PlannedSection:
    """A section an editor asked for by name: what it should cover, as questions."""
    return PlannedSection(heading=heading, covers=f"Cover {heading.lower()} as it applies to {subject(brief)}.",
                          questions=(f"What do the sources say about {heading.lower()}?",))


def _fill(entry: tuple[str, str, tuple[str, ...]], brief: Brief) -> PlannedSection:
    s = subject(brief)
    readers = " ".join(brief.target_audience.split()) or "readers"
    values = {"s": s, "S": title_case(s), "r": readers, "R": title_case(readers)}
    heading, covers, questions = entry
    return PlannedSection(heading=heading.format(**values), covers=covers.format(**values),
                          questions=tuple(q.format(**values) for q in questions))


def render(brief: Brief, title: str, sections: list[PlannedSection]) -> str:
    """The outline as Markdown: the notice, the brief's frame, then per section what to cover
    and which questions to answer."""
    lines = [f"# {title}", "", NOTICE, ""]
    frame = [f"Subject: {subject(brief)}."]
    if brief.target_audience:
        frame.append(f"Readers: {' '.join(brief.target_audience.split())}.")
    frame.append(f"Planned length: about {brief.word_count:,} words, {brief.style.replace('_', ' ')} style, "
                 f"{brief.tone} tone.")
    lines += [" ".join(frame), ""]
    for section in sections:
        lines += [f"## {section.heading}", "", f"*To cover:* {section.covers}", ""]
        lines += [f"- {question}" for question in section.questions] + [""]
    lines += ["## Conclusion", "", "*To cover:* What a reader should remember and do next.", "",
              "- What are the two or three points that matter most?", ""]
    return "\n".join(lines).rstrip() + "\n"


def is_outline(article: str) -> bool:
    return NOTICE_MARK in article


def headings(article: str) -> list[str]:
    return [match.strip() for match in re.findall(r"^## (.+)$", article, flags=re.MULTILINE)]
