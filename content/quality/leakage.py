"""Leakage: text meant for the writer, or the editor's private notes shown as a public source,
in the article. It is a gate, not a deduction: a report with a leak never passes, whatever its
score (`QualityReport.leaked`), and the revision asks for the leaked text to be cut.

Two kinds: phrases that only an instruction, a prompt or the pipeline's own notes contain ("the
draft must not cite", "as an AI", "Primary keyword:", "Research notes:"), and the editor's
pasted notes (a source of kind "pasted" without a URL) cited as `[n]`, listed under Sources or
named by their label. Their content may be used; presenting them as a source may not.
"""

from __future__ import annotations

import re

from content.citations import cited_numbers
from content.providers.base import Research
from content.quality.report import Check
from content.quality.vocabulary import is_private

# (what leaked, pattern); patterns are matched case-insensitively on the raw Markdown.
WRITER_ADDRESSED = (
    ("a pipeline note", r"no sources were (?:gathered|provided)[^.\n]*|the draft (?:must|should) not cite[^.\n]*"),
    ("an instruction to the writer", r"\b(?:the (?:draft|article) (?:must|should)(?: not)?|must not cite|"
                                     r"do not cite|use no (?:\[n\] )?citations|cite a claim taken from source"
                                     r"|return only the article|rules you always follow|you are a professional writer"
                                     r"|write between \d+ and \d+ words)\b[^.\n]*"),
    ("a prompt", r"(?:^|[.!?]\s+|\n\s*)(?:please\s+)?(?:write about|write an article|revise the article|"
                 r"rewrite the article|plan an article|write the article)\b[^.\n]*"),
    ("a model talking about itself", r"\bas an ai\b[^.\n]*|\bas a (?:large )?language model\b[^.\n]*|"
                                     r"\bi am an ai\b[^.\n]*"),
    ("a research-notes label", r"\bresearch notes\s*:[^\n]*|^#+\s*research notes\b[^\n]*"),
    ("the brief's settings", r"\baudience\s*:[^\n]*\bstyle\s*:[^\n]*|\b(?:primary keyword|target audience|"
                             r"word count|tone of voice)\s*:\s*[^\n]*"),
    ("the editor's notes label", r"\beditor['’]s (?:notes|critique)\b[^\n]*"),
    ("a numbered-sources prompt", r"\bnumbered sources\s*\([^\n]*"),
)
_PATTERNS = tuple((kind, re.compile(pattern, re.IGNORECASE | re.MULTILINE)) for kind, pattern in WRITER_ADDRESSED)
_SOURCES_SECTION = re.compile(r"^##\s+Sources\s*$(.*?)(?=^#{1,2}\s|\Z)", re.IGNORECASE | re.MULTILINE | re.DOTALL)


def leakage_check(article: str, research: Research) -> Check:
    """Worth no points; `details["leaks"]` lists what leaked (kind and exact text) and
    `details["private_citations"]` the private sources cited."""
    leaks: list[dict] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(article):
            text = match.group(0).strip(" \n.")
            if text and all(text != leak["text"] for leak in leaks):
                leaks.append({"kind": kind, "text": text})
    private = {source.number: source for source in research.sources if is_private(source)}
    cited_private = sorted(cited_numbers(article) & set(private))
    for number in cited_private:
        leaks.append({"kind": "the editor's private notes cited as a source", "text": f"[{number}]"})
    for section in _SOURCES_SECTION.findall(article):
        for source in private.values():
            if source.title and source.title.lower() in section.lower():
                leaks.append({"kind": "the editor's private notes listed as a source", "text": source.title})
    check = Check("leakage", 0, 0, details={"leaks": leaks, "private_citations": cited_private})
    for leak in leaks:
        check.findings.append(f"Leak (hard failure): {leak['kind']} reached the article: “{leak['text'][:100]}”.")
    return check
