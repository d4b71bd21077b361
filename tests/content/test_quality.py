"""The QA rubric scores what it documents and turns findings into concrete revisions."""

import pytest

from content.providers.base import Brief, KeywordChange, Research, Revision, Source
from content.quality import WEIGHTS, passes, revision_for, score_article
from content.revisions import review_revision
from tests.content.quality_dataset import DATA, briefs

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
    the_brief, research = briefs()["heat_pumps"]
    report = score_article(labelled("heat_pumps"), the_brief, research)
    assert report.within_tolerance and not report.leaked
    assert report.score >= 70, report.findings
    assert passes(report, 70)


def test_form_alone_does_not_pass_without_research_material():
    """The old rubric's full marks: well formed, on length, keyword placed, but nothing to draw on."""
    text = article()
    report = score_article(text, brief(word_count=len(text.split()) - 10), Research(notes=""))
    assert report.within_tolerance
    assert report.score < 70 and not passes(report, 70)


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
    assert structure.points == WEIGHTS["structure"] / 4  # only the introduction is there
    assert "Start with a `# Title` line." in structure.findings
    assert "Use at least 3 sections (level-2 headings); there are 0." in structure.findings  # no Markdown
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


def labelled(name: str, kind: str = "on_topic") -> str:
    return (DATA / kind / f"{name}.md").read_text()


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


def test_reviewer_structure_asks_first_for_the_section_the_feedback_names():
    revision = review_revision(brief=brief(), article=article(), reasons=["structure"],
                               feedback="It needs a section on costs.")
    assert revision.add_sections == ("Heat pumps: costs and trade-offs",)
    sparse = article(sections=("How they work",)).split("## Conclusion")[0]
    revision = review_revision(brief=brief(), article=sparse, reasons=["structure"],
                               feedback="Tell beginners how to start, and warn of the common mistakes.")
    assert revision.add_sections == ("Heat pumps: common mistakes", "Heat pumps: how to get started", "Conclusion")


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


# --- the content checks: relevance, grounding, generic, leakage ------------------------------------

SOURDOUGH_PARAGRAPH = ("Feed the starter equal weights of rye flour and water, then fold the dough every half "
                       "hour until the loaf is airy, shaped and ready for a hot Dutch oven and its crust.")


def heat_pump_piece(insert: str = "", after: str = "## Radiators and flow temperature") -> tuple[str, Brief, Research]:
    the_brief, research = briefs()["heat_pumps"]
    text = labelled("heat_pumps")
    if insert:
        head, _, tail = text.partition(after + "\n\n")
        text = f"{head}{after}\n\n{insert}\n\n{tail}"
    return text, the_brief, research


def test_an_off_topic_paragraph_is_named_with_its_section():
    text, the_brief, research = heat_pump_piece(SOURDOUGH_PARAGRAPH)
    report = score_article(text, the_brief, research)
    relevance = check(report, "relevance")
    assert [(item["section"], item["paragraph"]) for item in relevance.details["off_topic"]] == [
        ("Radiators and flow temperature", 1)]
    assert any(f.startswith("Section “Radiators and flow temperature”, paragraph 1 is not about Air-source heat pumps")
               for f in relevance.findings)
    assert relevance.points < check(score_article(*heat_pump_piece()), "relevance").points
    assert revision_for(report, the_brief, text).stay_on_topic
    assert not revision_for(score_article(*heat_pump_piece()), the_brief, labelled("heat_pumps")).stay_on_topic


def test_a_title_that_does_not_name_the_subject_is_reported():
    text, the_brief, research = heat_pump_piece()
    text = text.replace("# Air-Source Heat Pumps: What Homeowners Should Know", "# Five Things Worth Knowing")
    relevance = check(score_article(text, the_brief, research), "relevance")
    assert relevance.details["title_on_topic"] is False
    assert "The title “Five Things Worth Knowing” does not name Air-source heat pumps." in relevance.findings


def test_a_number_without_a_citation_is_flagged():
    claim = "Installers in the region fitted 61,000 outdoor units last year, twice the figure of 2021."
    text, the_brief, research = heat_pump_piece(claim)
    report = score_article(text, the_brief, research)
    grounding = check(report, "grounding")
    assert claim in grounding.details["uncited_claims"]
    assert any("without a citation" in f and "Installers in the region" in f for f in grounding.findings)
    assert revision_for(report, the_brief, text).cite_sources
    assert len(grounding.details["uncited_claims"]) == 1 + len(
        check(score_article(*heat_pump_piece()), "grounding").details["uncited_claims"])


def test_a_citation_that_shares_nothing_with_its_source_does_not_count():
    cited = "Sourdough starters double four to eight hours after a feed of rye flour [2]."
    text, the_brief, research = heat_pump_piece(cited)
    grounding = check(score_article(text, the_brief, research), "grounding")
    assert cited in grounding.details["unbacked_citations"]


def test_a_filler_paragraph_is_counted_generic():
    filler = ("It helps to keep a shared view of day-to-day priorities, even in a small team. A short note on what "
              "was done and what is still open makes every handover easier. Small habits like these add up over time.")
    text, the_brief, research = heat_pump_piece(filler)
    generic = check(score_article(text, the_brief, research), "generic")
    assert ("It helps to keep a shared view of day-to-day priorities, even in a small team."
            in generic.details["generic"])
    assert "Small habits like these add up over time." in generic.details["generic"]
    before = check(score_article(*heat_pump_piece()), "generic").details["generic"]
    assert len(generic.details["generic"]) >= 2 + len(before)


def test_a_filler_article_fails_however_well_formed():
    the_brief, research = briefs()["composting"]
    report = score_article(labelled("composting", "filler"), the_brief, research)
    assert report.within_tolerance and check(report, "structure").points == WEIGHTS["structure"]
    assert check(report, "generic").points == 0
    assert not passes(report, 70)


@pytest.mark.parametrize("leak", [
    "No sources were gathered; the draft must not cite any.",
    "As an AI, I have never stood next to an outdoor unit.",
    "Write about heat pumps for homeowners in older houses.",
    "Revise the article to add a section on radiators.",
    "Research notes: Air-source heat pumps",
    "Audience: homeowners. Style: educational. Tone: professional.",
    "Primary keyword: heat pump.",
    "The Editor's notes say most readers live in older houses.",
])
def test_each_kind_of_leak_is_a_hard_failure_whatever_the_score(leak):
    text, the_brief, research = heat_pump_piece(leak)
    report = score_article(text, the_brief, research)
    assert report.score >= 70, report.findings  # the rest of the article is fine
    assert report.leaked and not passes(report, 0)
    leakage = check(report, "leakage")
    assert leakage.points == 0 and leakage.max_points == 0
    assert any(f.startswith("Leak (hard failure)") for f in leakage.findings)
    assert any(leaked.strip(" .") in leak for leaked in revision_for(report, the_brief, text).remove_phrases)
    assert report.as_dict()["leaked"] is True


def test_the_editors_private_notes_cited_as_a_source_are_a_leak():
    the_brief, research = briefs()["heat_pumps"]
    private = next(source for source in research.sources if source.kind == "pasted")
    used = "Many of our readers live in older houses with radiators."
    text, _, _ = heat_pump_piece(used)
    assert not score_article(text, the_brief, research).leaked  # the notes' content may be used
    cited, _, _ = heat_pump_piece(f"{used[:-1]} [{private.number}].")
    report = score_article(cited, the_brief, research)
    assert report.leaked and check(report, "leakage").details["private_citations"] == [private.number]
    assert f"[{private.number}]" in revision_for(report, the_brief, cited).remove_phrases
    listed = labelled("heat_pumps") + f"\n## Sources\n\n1. How heat pumps work\n{private.number}. {private.title}\n"
    assert score_article(listed, the_brief, research).leaked


def test_a_pasted_source_with_its_own_url_may_be_cited():
    the_brief, research = briefs()["heat_pumps"]
    quoted = Source(9, "Installer survey", url="https://example.org/survey", kind="pasted",
                    quote="Most installers fit a hot water cylinder with every heat pump.")
    research = Research(notes=research.notes, sources=(*research.sources, quoted))
    text, _, _ = heat_pump_piece("Most installers fit a hot water cylinder with each heat pump [9].")
    assert not score_article(text, the_brief, research).leaked


def test_without_any_material_the_piece_is_unsupported():
    text, the_brief, _ = heat_pump_piece()
    report = score_article(text, the_brief, Research(notes=""))
    grounding = check(report, "grounding")
    assert grounding.points == 0 and grounding.details["material"] is False
    assert grounding.findings[0].startswith("Unsupported: there is no research material behind this piece")
