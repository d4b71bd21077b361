"""The QA rubric scores what it documents and turns findings into concrete revisions."""

from content.providers.base import Brief, Research, Source
from content.quality import WEIGHTS, passes, revision_for, score_article

SENTENCES = [
    "Heat pumps move warmth from outside air into a home, even on cold winter days.",
    "They use electricity to run a compressor instead of burning gas in a boiler.",
    "Installers size each unit to the house, its insulation and the local climate.",
    "A well designed system can cut heating bills for many families by a third.",
    "Grants in several countries now cover part of the cost of switching over.",
    "Noise levels have dropped, and modern outdoor units are quieter than a fridge.",
    "Maintenance is simple: clean the filters and keep the outdoor coil clear of leaves.",
    "Owners should check the seasonal efficiency figure before they sign a contract.",
]


def article(paragraphs_per_section: int = 2, sections=("How they work", "What they cost", "Living with one"),
            keyword_line: str = "Choosing a heat pump is easier than it looks.") -> str:
    lines = ["# Heat Pumps for Beginners", "", keyword_line + " " + SENTENCES[0], ""]
    counter = 1
    for heading in sections:
        lines += [f"## {heading}", ""]
        for _ in range(paragraphs_per_section):
            lines += [" ".join(SENTENCES[(counter + k) % len(SENTENCES)] for k in range(3)), ""]
            counter += 3
    lines += ["## Conclusion", "", "A heat pump is a sound choice for most homes today.", ""]
    return "\n".join(lines)


def brief(**fields) -> Brief:
    return Brief(**{"topic": "Heat pumps", "word_count": 250, "word_count_tolerance": 20,
                    "primary_keyword": "heat pump", **fields})


def test_weights_add_up_to_a_hundred():
    assert sum(WEIGHTS.values()) == 100


def test_a_well_formed_article_of_the_right_length_passes():
    text = article()
    report = score_article(text, brief(word_count=len(text.split()) - 10), Research(notes=""))
    assert report.within_tolerance
    assert report.score >= 70, report.findings
    assert passes(report, 70)


def test_a_short_article_loses_word_count_points_and_is_told_to_expand():
    report = score_article(article(paragraphs_per_section=1), brief(word_count=1000, word_count_tolerance=10),
                           Research(notes=""))
    check = next(c for c in report.checks if c.name == "word_count")
    assert check.points == 0
    assert not report.within_tolerance
    assert any(f.startswith("Expand the article to 900–1,100 words") for f in report.findings)
    revision = revision_for(report, brief(word_count=1000, word_count_tolerance=10), article())
    assert revision.target_words == 1000


def test_missing_structure_is_reported_section_by_section():
    report = score_article("Just one paragraph about heat pumps without any headings at all.", brief(),
                           Research(notes=""))
    structure = next(c for c in report.checks if c.name == "structure")
    assert structure.points == 5  # only the introduction is there
    assert "Start with a `# Title` line." in structure.findings
    assert any("at least 3 sections" in f for f in structure.findings)
    assert "End with a `## Conclusion` section." in structure.findings


def test_keyword_stuffing_and_absence_are_both_penalised():
    stuffed = article().replace("Heat pumps", "Heat pump heat pump")
    assert any("stuffed" in f for f in score_article(stuffed, brief(), Research(notes="")).findings)
    absent = score_article(article(keyword_line="Let us begin."), brief(primary_keyword="geothermal"),
                           Research(notes=""))
    assert next(c for c in absent.checks if c.name == "keyword").points == 0


def test_placeholders_and_dangling_citations_are_found():
    text = article() + "\nTODO: add numbers [insert chart here]. Efficiency is 400% [3].\n"
    report = score_article(text, brief(), Research(notes="", sources=(Source(1, "A"), Source(2, "B"))))
    assert next(c for c in report.checks if c.name == "placeholders").points == 0
    assert next(c for c in report.checks if c.name == "citations").points == 0
    revision = revision_for(report, brief(), text)
    assert {"TODO", "[insert chart here]", "[3]"} <= set(revision.remove_phrases)


def test_repeated_sentences_are_reported():
    text = article() + "\n" + SENTENCES[3] + " " + SENTENCES[3] + "\n"
    report = score_article(text, brief(), Research(notes=""))
    assert any(f.startswith("Remove") and "repeated sentence" in f for f in report.findings)
