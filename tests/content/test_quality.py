"""The QA rubric scores what it documents and turns findings into concrete revisions."""

import pytest

from content.providers.base import Brief, KeywordChange, Research, Revision, Source
from content.quality import WEIGHTS, passes, revision_for, score_article
from content.revisions import review_revision

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


def check(report, name):
    return next(c for c in report.checks if c.name == name)


def test_revision_reads_the_checks_and_keeps_the_findings_as_text():
    text = article(sections=("How they work",)) + "\nTODO: add numbers. Efficiency is 400% [3].\n"
    the_brief = brief(word_count=1000, word_count_tolerance=10)
    report = score_article(text, the_brief, Research(notes="", sources=(Source(1, "A"),)), critique="Too thin.")
    revision = revision_for(report, the_brief, text)
    assert revision.source == "qa" and not revision.reasons and not revision.feedback
    assert revision.findings == (*report.findings, "Editor's critique: Too thin.")
    assert revision.target_words == 1000
    assert revision.add_sections == ("Heat pumps: common questions", "Heat pumps: practical steps")
    assert revision.remove_phrases == ("TODO", "[3]")
    assert check(report, "citations").details == {"dangling": [3]}


def test_revision_is_built_from_the_checks_not_from_the_wording_of_findings():
    text = article()
    report = score_article(text, brief(word_count=len(text.split())), Research(notes=""))
    check(report, "keyword").findings.append("The keyword is stuffed; reduce its density.")
    check(report, "structure").findings.append("Use at least 3 sections.")
    revision = revision_for(report, brief(word_count=len(text.split())), text)
    assert revision.keyword is None and revision.add_sections == () and revision.remove_phrases == ()


def test_keyword_changes_follow_the_keyword_check():
    stuffed = article().replace("Heat pumps", "Heat pump heat pump")
    report = score_article(stuffed, brief(), Research(notes=""))
    assert check(report, "keyword").details["stuffed"]
    assert revision_for(report, brief(), stuffed).keyword == KeywordChange.REDUCE
    absent = article(keyword_line="Let us begin.")
    report = score_article(absent, brief(primary_keyword="geothermal"), Research(notes=""))
    assert check(report, "keyword").details["missing"]
    assert revision_for(report, brief(primary_keyword="geothermal"), absent).keyword == KeywordChange.PLACE
    fine = article()
    assert revision_for(score_article(fine, brief(), Research(notes="")), brief(), fine).keyword is None


def test_a_missing_conclusion_is_asked_for():
    text = article().split("## Conclusion")[0]
    report = score_article(text, brief(), Research(notes=""))
    assert revision_for(report, brief(), text).add_sections == ("Conclusion",)


# --- revisions asked for by a reviewer -------------------------------------------------------------


def test_reviewer_length_uses_the_given_target_else_the_brief():
    assert review_revision(brief=brief(), article=article(), reasons=["length"], feedback="Shorter.",
                           target_words=180).target_words == 180
    revision = review_revision(brief=brief(), article=article(), reasons=["length"], feedback="Shorter.")
    assert revision.target_words == 250


def test_a_given_target_sets_the_length_whatever_the_reasons():
    revision = review_revision(brief=brief(), article=article(), reasons=["quality"], feedback="Tighter.",
                               target_words=300)
    assert revision.target_words == 300


def test_reviewer_structure_adds_at_least_one_section_the_article_lacks():
    full = review_revision(brief=brief(), article=article(), reasons=["structure"], feedback="Thin.")
    assert full.add_sections == ("Heat pumps: common questions",)
    sparse = article(sections=("How they work", "Heat pumps: common questions")).split("## Conclusion")[0]
    revision = review_revision(brief=brief(), article=sparse, reasons=["structure"], feedback="Thin.")
    assert revision.add_sections == ("Heat pumps: practical steps", "Conclusion")


def test_reviewer_reasons_map_to_concrete_changes():
    revision = review_revision(brief=brief(target_audience="homeowners"), article=article(),
                               reasons=["sources", "off_topic", "tone"], feedback="  Cite the grant study.  ")
    assert revision.cite_sources and revision.stay_on_topic and revision.follow_tone
    assert revision.keyword == KeywordChange.PLACE and revision.mention_audience
    assert revision.reasons == ("sources", "off_topic", "tone")
    assert revision.feedback == "Cite the grant study." and revision.source == "review"
    assert revision.target_words is None and not revision.add_sections and not revision.findings


def test_reviewer_reasons_without_a_concrete_change_travel_as_reasons_and_feedback():
    revision = review_revision(brief=brief(), article=article(), reasons=["factual_error", "quality", "other"],
                               feedback="The grant figure is wrong.")
    assert revision == Revision(reasons=("factual_error", "quality", "other"), feedback="The grant figure is wrong.",
                                source="review")


def test_unknown_reason_codes_are_refused():
    with pytest.raises(ValueError, match="Unknown review reasons: boring"):
        review_revision(brief=brief(), article=article(), reasons=["tone", "boring"], feedback="Meh.")
    with pytest.raises(ValueError, match="Unknown review reasons"):
        Revision(reasons=("boring",))
