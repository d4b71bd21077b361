"""The research notes a writer reads are neutral material: nothing in them addresses the writer,
so nothing a writer copies from them can leak an instruction into an article."""

import pytest

from content.pipeline import _research_notes
from content.providers.base import Brief, Research, Source
from content.quality.leakage import leakage_check

BRIEF = Brief(topic="Home composting", target_audience="first-time gardeners", style="educational",
              tone="friendly", primary_keyword="compost")
PASTED = Source(1, "Editor's notes", quote="Readers ask about rats.", kind="pasted")
WEB = Source(2, "Composting basics", url="https://example.org/basics", quote="Two parts brown to one part green.")


@pytest.mark.parametrize("sources,pasted", [
    ([], ""), ([], "Readers ask about rats."), ([PASTED, WEB], "Readers ask about rats."), ([WEB], ""),
])
def test_research_notes_address_nobody(sources, pasted):
    notes = _research_notes(BRIEF, sources, pasted=pasted)
    assert leakage_check(notes, Research(notes="")).details["leaks"] == []
    for instruction in ("must not cite", "No sources", "Audience", "Style:", "Tone:", "Primary keyword",
                        "Research notes", "Editor's notes", "(web)", "(pasted)"):
        assert instruction not in notes


def test_research_notes_keep_the_material():
    notes = _research_notes(BRIEF, [PASTED, WEB], pasted="Readers ask about rats.")
    assert notes.startswith("# Home composting")
    assert "Readers ask about rats." in notes
    assert "2. **Composting basics** — https://example.org/basics" in notes
    assert "> Two parts brown to one part green." in notes
    assert notes.count("Readers ask about rats.") == 1  # the private notes are not listed as a source too
