"""The offline writer: structure, length, keyword, citations, variety, determinism and revision.

No database and no network: the offline model is plain Python over `content.textstats`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import replace

import pytest

from content.providers.base import Brief, KeywordChange, Outline, Research, Revision, Source
from content.providers import offline
from content.providers.offline import OfflineTextModel
from content.quality import passes, score_article
from content.revisions import review_revision
from content.textstats import average_sentence_length, count_words, flesch_reading_ease, plain_text, sentences
from tasks.exceptions import TaskCancelled

STYLES = ("technical", "narrative", "listicle", "educational", "thought_leadership")
TONES = ("professional", "casual", "academic", "inspirational", "friendly", "authoritative")
SOURCES = (
    Source(1, "The Remote Work Report 2024 - Example News", "https://example.com/report",
           "Teams that document decisions move faster than teams that rely on meetings."),
    Source(2, "Async Playbook", "https://example.com/async", "Meetings are the most expensive default."),
    Source(3, "Why Managers Struggle With Distributed Teams", "", ""),
)
NOTES = """## Notes

- Remote teams that write things down report fewer misunderstandings in weekly planning [1].
- Asynchronous status updates reduce the number of recurring meetings for most distributed teams [2].
- Managers who hold regular one-to-one calls describe higher trust in their teams [3] [9].
- Source list: https://example.com/report
"""
RESEARCH = Research(notes=NOTES, sources=SOURCES)
NO_RESEARCH = Research(notes="")


@pytest.fixture
def model() -> OfflineTextModel:
    return OfflineTextModel()


def brief(**changes) -> Brief:
    base = Brief(
        topic="Remote work productivity for small teams",
        word_count=1000,
        word_count_tolerance=5,
        style="educational",
        tone="professional",
        target_audience="small business owners",
        primary_keyword="remote work",
        category="Work",
    )
    return replace(base, **changes)


def write(model: OfflineTextModel, the_brief: Brief, research: Research = RESEARCH) -> str:
    outline = model.outline(the_brief, research).outline
    return model.write(the_brief, research, outline).text


def structure(article: str) -> tuple[str, str, list[str], str]:
    """Title, introduction, section headings and conclusion body of an article."""
    title = re.match(r"# (.+)\n", article).group(1)
    pieces = re.split(r"^## (.+)$", article, flags=re.MULTILINE)
    intro = pieces[0].split("\n", 1)[1].strip()
    headings = pieces[1::2]
    bodies = pieces[2::2]
    return title, intro, headings, bodies[-1].strip()


def occurrences(text: str, keyword: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(keyword)}(?!\w)", plain_text(text), flags=re.IGNORECASE))


def density(article: str, keyword: str) -> float:
    """The share of words that belong to keyword occurrences, as the QA rubric measures it."""
    return occurrences(article, keyword) * len(keyword.split()) / count_words(article) * 100


def within(article: str, target: int, percent: float) -> bool:
    return abs(count_words(article) - target) <= max(1, target * percent / 100)


# --- outline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("words", "sections"), [(100, 3), (1000, 5), (1800, 8), (5000, 8)])
def test_outline_section_count_scales_with_length(model, words, sections):
    outline = model.outline(brief(word_count=words), RESEARCH).outline
    assert len(outline.sections) == sections
    assert len(set(outline.sections)) == sections


@pytest.mark.parametrize(
    ("style", "pattern"),
    [
        ("listicle", r"^\d+ (Ways|Practical Tips|Things) "),
        ("technical", r"(A Practical Guide|Technical Guide)"),
        ("educational", r"(^Understanding |Explained$)"),
        ("thought_leadership", r"(^Why .* Matters? (Now|More Than Ever)$|^Rethinking )"),
        ("narrative", r"(Story|Taught Us|Journey)"),
    ],
)
def test_outline_title_follows_the_style(model, style, pattern):
    outline = model.outline(brief(style=style), RESEARCH).outline
    assert re.search(pattern, outline.title), outline.title


def test_listicle_title_counts_its_sections(model):
    outline = model.outline(brief(style="listicle", word_count=1500), RESEARCH).outline
    assert outline.title.startswith(f"{len(outline.sections)} ")


def test_outline_uses_the_brief_title_when_given(model):
    outline = model.outline(brief(title="Our Remote Year"), RESEARCH).outline
    assert outline.title == "Our Remote Year"


def test_outline_gives_a_research_source_its_own_section(model):
    outline = model.outline(brief(word_count=1500), RESEARCH).outline
    assert any("Remote Work Report 2024" in heading for heading in outline.sections)


def test_outline_title_varies_with_the_topic_but_not_between_runs(model):
    first = model.outline(brief(topic="Remote work productivity for small teams"), NO_RESEARCH).outline
    again = model.outline(brief(topic="Remote work productivity for small teams"), NO_RESEARCH).outline
    other = model.outline(brief(topic="Remote work for nonprofits", primary_keyword=""), NO_RESEARCH).outline
    assert first == again
    assert other.title != first.title


# --- structure and style ---------------------------------------------------------------------


def test_article_has_title_untitled_introduction_sections_and_conclusion(model):
    article = write(model, brief())
    title, intro, headings, conclusion = structure(article)
    outline = model.outline(brief(), RESEARCH).outline
    assert title == outline.title
    assert intro and not intro.startswith("#")
    assert 1 <= len([p for p in intro.split("\n\n") if p.strip()]) <= 2
    assert headings[:-1] == list(outline.sections)
    assert headings[-1] == "Conclusion" and conclusion
    assert len(headings) - 1 >= 3


def test_listicle_numbers_its_sections(model):
    article = write(model, brief(style="listicle"))
    _, _, headings, _ = structure(article)
    assert [h.split(".")[0] for h in headings[:-1]] == [str(n) for n in range(1, len(headings))]


def test_technical_article_contains_a_step_list(model):
    article = write(model, brief(style="technical", word_count=1500))
    assert re.search(r"^1\. .+\n2\. .+\n3\. ", article, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("style", "marker"),
    [
        ("educational", "For example,"),
        ("narrative", "story"),
        ("thought_leadership", "will"),
        ("technical", "step"),
    ],
)
def test_style_shows_in_the_text(model, style, marker):
    assert marker.lower() in write(model, brief(style=style, word_count=1500)).lower()


def test_casual_tone_uses_contractions_and_academic_does_not(model):
    casual = write(model, brief(tone="casual"))
    academic = write(model, brief(tone="academic"))
    assert re.search(r"\b(it's|don't|isn't|that's|you're)\b", casual, flags=re.IGNORECASE)
    assert not re.search(r"\b(it's|don't|isn't|that's|you're)\b", academic, flags=re.IGNORECASE)


def test_audience_is_mentioned(model):
    for words in (100, 1000):
        assert "small business owners" in write(model, brief(word_count=words)).lower()


def test_write_follows_a_foreign_outline(model):
    outline = Outline(
        title="Remote Work Without the Chaos",
        sections=("Introduction", "Setting Clear Expectations", "Choose Async by Default", "Conclusion"),
    )
    article = model.write(brief(word_count=800), RESEARCH, outline).text
    title, _, headings, _ = structure(article)
    assert title == "Remote Work Without the Chaos"
    assert headings[:2] == ["Setting Clear Expectations", "Choose Async by Default"]
    assert headings[-1] == "Conclusion" and len(headings) >= 4  # padded to three sections
    assert within(article, 800, 2)


# --- length and readability ------------------------------------------------------------------


@pytest.mark.parametrize("tolerance", [5, 10])
@pytest.mark.parametrize("words", [100, 300, 1000, 1200, 2500, 5000])
def test_word_count_lands_within_two_percent_and_the_tolerance(model, words, tolerance):
    the_brief = brief(word_count=words, word_count_tolerance=tolerance)
    article = write(model, the_brief)
    low, high = the_brief.word_range
    assert low <= count_words(article) <= high
    assert within(article, words, 2)


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("style", STYLES)
def test_every_style_and_tone_is_on_length_readable_and_varied(model, style, tone):
    article = write(model, brief(style=style, tone=tone, word_count=1000))
    assert within(article, 1000, 2)
    assert 40 <= flesch_reading_ease(article) <= 80
    assert 12 <= average_sentence_length(article) <= 24
    found = sentences(article)
    assert len(found) == len(set(found))
    assert not re.search(r"lorem|\bTODO\b|\[insert|[{}]|as an ai", article, flags=re.IGNORECASE)


def test_article_without_keyword_or_audience_is_on_length(model):
    article = write(model, brief(primary_keyword="", target_audience="", word_count=1200), NO_RESEARCH)
    assert within(article, 1200, 2)
    assert "most readers" not in article


def test_long_article_repeats_no_sentence_or_paragraph(model):
    for style, tone in (("educational", "professional"), ("listicle", "casual")):
        article = write(model, brief(word_count=5000, style=style, tone=tone))
        found = sentences(article)
        assert len(found) == len(set(found)), [s for s in found if found.count(s) > 1][:3]
        paragraphs = [p for p in article.split("\n\n") if p.strip() and not p.startswith("#")]
        assert len(paragraphs) == len(set(paragraphs))


@pytest.mark.parametrize("style", STYLES)
def test_offline_article_passes_the_qa_rubric_without_revision(model, style):
    the_brief = brief(style=style, tone="academic" if style == "narrative" else "friendly", word_count=1200)
    report = score_article(write(model, the_brief), the_brief, RESEARCH)
    assert passes(report, 70) and report.score >= 90, report.findings


# --- keyword ---------------------------------------------------------------------------------


@pytest.mark.parametrize("words", [300, 1000, 2500, 5000])
def test_keyword_is_placed_and_its_density_is_moderate(model, words):
    article = write(model, brief(word_count=words))
    title, intro, headings, conclusion = structure(article)
    first_paragraph = intro.split("\n\n")[0]
    assert occurrences(title, "remote work") or occurrences(first_paragraph, "remote work")
    assert any(occurrences(heading, "remote work") for heading in headings[:-1])
    assert occurrences(conclusion, "remote work")
    assert 0.5 <= density(article, "remote work") <= 2.5


@pytest.mark.parametrize(("words", "keyword"), [(100, "remote work"), (200, "remote work"), (100, "productivity"),
                                                (1000, "async communication tools")])
def test_short_piece_or_long_keyword_never_exceeds_the_density_cap(model, words, keyword):
    article = write(model, brief(word_count=words, primary_keyword=keyword))
    title, intro, _, _ = structure(article)
    assert occurrences(title, keyword) or occurrences(intro.split("\n\n")[0], keyword)
    assert density(article, keyword) <= 2.5


def test_conclusion_carries_the_keyword_once_the_budget_allows_two(model):
    article = write(model, brief(word_count=200))
    assert occurrences(structure(article)[3], "remote work")


# --- citations -------------------------------------------------------------------------------


def test_citations_name_only_existing_sources_and_cite_each_one(model):
    article = write(model, brief(word_count=1000))
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", article)}
    assert cited == {1, 2, 3}
    assert "[9]" not in article


def test_article_without_sources_has_no_citations(model):
    research = Research(notes="- Remote teams report fewer misunderstandings when they write decisions down [1].")
    article = write(model, brief(), research)
    assert not re.search(r"\[\d+\]", article)


def test_quotes_carry_their_citation(model):
    article = write(model, brief(word_count=1000))
    assert re.search(r"“Teams that document decisions move faster than teams that rely on meetings” \[1\]\.", article)


# --- determinism, usage, critique, stop ------------------------------------------------------


def test_same_inputs_give_byte_identical_articles(model):
    assert write(model, brief(word_count=1500)) == write(OfflineTextModel(), brief(word_count=1500))


def test_different_topics_give_different_articles(model):
    assert write(model, brief()) != write(model, brief(topic="Remote work for nonprofits"))


def test_usage_is_an_honest_estimate(model):
    the_brief = brief()
    result = model.write(the_brief, RESEARCH, model.outline(the_brief, RESEARCH).outline)
    assert result.usage.output_tokens == pytest.approx(count_words(result.text) * 1.3, abs=1)
    assert result.usage.input_tokens > len(NOTES) // 4


def test_offline_model_offers_no_critique(model):
    assert model.critique(brief(), write(model, brief())) is None


def test_stop_is_checked_and_can_interrupt_the_work(model):
    calls = []

    def stop():
        calls.append(1)
        if len(calls) == 3:
            raise TaskCancelled("cancelled")

    outline = model.outline(brief(), RESEARCH).outline
    with pytest.raises(TaskCancelled):
        model.write(brief(), RESEARCH, outline, stop=stop)


# --- revision --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [1300, 1600, 700, 450])
def test_revision_expands_or_shortens_into_two_percent_of_the_target(model, target):
    article = write(model, brief())
    revised = model.revise(brief(), RESEARCH, article, Revision(target_words=target)).text
    assert within(revised, target, 2)
    found = sentences(revised)
    assert len(found) == len(set(found))
    assert structure(revised)[2] == structure(article)[2]


def test_shortening_keeps_the_first_citation_of_each_source(model):
    article = write(model, brief())
    revised = model.revise(brief(), RESEARCH, article, Revision(target_words=600)).text
    assert {int(n) for n in re.findall(r"\[(\d+)\]", revised)} == {1, 2, 3}


def test_revision_adds_requested_sections_before_the_conclusion(model):
    article = write(model, brief())
    revision = Revision(add_sections=("Security Considerations",))
    revised = model.revise(brief(), RESEARCH, article, revision).text
    _, _, headings, _ = structure(revised)
    assert headings[-2:] == ["Security Considerations", "Conclusion"]
    section = revised.split("## Security Considerations")[1].split("## Conclusion")[0]
    assert count_words(section) >= 60
    low, high = brief().word_range
    assert low <= count_words(revised) <= high


def test_revision_removes_phrases_and_mends_the_sentences(model):
    article = (
        "# Remote Work Notes\n\n"
        "According to [insert source], remote teams write more. This stays as it is.\n\n"
        "## Getting Started\n\n"
        "In today's fast-paced world, teams need clear goals. TODO add numbers. Start small and review often.\n\n"
        "## Conclusion\n\n"
        "Remote work rewards patience. In today's fast-paced world, patience is rare.\n"
    )
    revision = Revision(remove_phrases=("[insert source]", "TODO add numbers", "In today's fast-paced world"))
    the_brief = brief(word_count=100, word_count_tolerance=20)
    revised = model.revise(the_brief, NO_RESEARCH, article, revision).text
    assert "[insert" not in revised and "TODO" not in revised and "fast-paced" not in revised
    assert "Remote teams write more." in revised
    assert "Teams need clear goals." in revised
    assert "Patience is rare." in revised
    assert "This stays as it is." in revised


def test_revision_keeps_untouched_paragraphs_verbatim(model):
    article = write(model, brief())
    paragraphs = [p for p in article.split("\n\n") if p.strip()]
    target = next(p for p in paragraphs if not p.startswith("#") and "Remote Work Report" not in p and len(p) > 200)
    phrase = " ".join(target.split(". ")[1].split(",")[0].split()[:5])
    revised = model.revise(brief(), RESEARCH, article, Revision(remove_phrases=(phrase,))).text
    assert phrase.lower() not in revised.lower()
    kept = [p for p in paragraphs if phrase.lower() not in p.lower()]
    assert all(p in revised for p in kept)


def test_revision_adds_a_missing_keyword_naturally(model):
    the_brief = brief(primary_keyword="", style="technical", tone="casual")
    article = write(model, the_brief, NO_RESEARCH)
    with_keyword = replace(the_brief, primary_keyword="async communication")
    revision = Revision(keyword=KeywordChange.PLACE)
    revised = model.revise(with_keyword, NO_RESEARCH, article, revision).text
    title, intro, headings, conclusion = structure(revised)
    assert occurrences(title, "async communication") or occurrences(intro.split("\n\n")[0], "async communication")
    assert any(occurrences(heading, "async communication") for heading in headings[:-1])
    assert occurrences(conclusion, "async communication")
    assert 0.5 <= density(revised, "async communication") <= 2.5


def test_revision_is_deterministic(model):
    article = write(model, brief())
    revision = Revision(target_words=1250, add_sections=("Security Considerations",))
    assert model.revise(brief(), RESEARCH, article, revision) == OfflineTextModel().revise(
        brief(), RESEARCH, article, revision)


# --- revision requested by a reviewer ---------------------------------------------------------

FEEDBACK = "Please rework this for the Zanzibar office; the tone feels off."


def test_reviewer_length_request_lands_within_tolerance_of_target(model):
    article = write(model, brief())
    assert within(article, 1000, 2)
    revision = review_revision(brief=brief(), article=article, reasons=["length"], feedback=FEEDBACK,
                               target_words=600)
    revised = model.revise(brief(), RESEARCH, article, revision).text
    low, high = brief(word_count=600).word_range
    assert low <= count_words(revised) <= high


def test_reviewer_length_reason_without_a_target_returns_to_the_brief_length(model):
    article = write(model, brief(word_count=1400))
    revision = review_revision(brief=brief(), article=article, reasons=["length"], feedback=FEEDBACK)
    low, high = brief().word_range
    assert low <= count_words(model.revise(brief(), RESEARCH, article, revision).text) <= high


def test_reviewer_structure_request_adds_sections(model):
    article = write(model, brief())
    revision = review_revision(brief=brief(), article=article, reasons=["structure"], feedback=FEEDBACK)
    revised = model.revise(brief(), RESEARCH, article, revision).text
    assert len(structure(revised)[2]) > len(structure(article)[2])
    assert structure(revised)[2][-1] == "Conclusion"


def test_reviewer_sources_request_cites_sources_not_cited_before(model):
    article = write(model, brief())
    more = Research(notes=NOTES, sources=(*SOURCES, Source(4, "Distributed Work Survey", "https://example.com/survey",
                                                            "Written plans halve the number of status meetings."),
                                          Source(5, "The Handbook of Quiet Teams", "https://example.com/quiet")))
    assert {int(n) for n in re.findall(r"\[(\d+)\]", article)} == {1, 2, 3}
    revision = review_revision(brief=brief(), article=article, reasons=["sources"], feedback=FEEDBACK)
    revised = model.revise(brief(), more, article, revision).text
    assert {int(n) for n in re.findall(r"\[(\d+)\]", revised)} == {1, 2, 3, 4, 5}
    assert structure(revised)[2] == structure(article)[2]
    low, high = brief().word_range
    assert low <= count_words(revised) <= high


def test_reviewer_sources_request_without_sources_adds_no_citation(model):
    article = write(model, brief(), NO_RESEARCH)
    revision = review_revision(brief=brief(), article=article, reasons=["sources"], feedback=FEEDBACK)
    assert not re.search(r"\[\d+\]", model.revise(brief(), NO_RESEARCH, article, revision).text)


def test_reviewer_off_topic_request_places_the_keyword(model):
    the_brief = brief(primary_keyword="", style="technical", tone="casual")
    article = write(model, the_brief, NO_RESEARCH)
    with_keyword = replace(the_brief, primary_keyword="async communication")
    revision = review_revision(brief=with_keyword, article=article, reasons=["off_topic"], feedback=FEEDBACK)
    revised = model.revise(with_keyword, NO_RESEARCH, article, revision).text
    assert occurrences(article, "async communication") == 0
    assert 0.5 <= density(revised, "async communication") <= 2.5


def test_reviewer_tone_request_names_the_audience(model):
    article = write(model, brief(target_audience=""))
    assert "small business owners" not in article.lower()
    revision = review_revision(brief=brief(), article=article, reasons=["tone"], feedback=FEEDBACK)
    revised = model.revise(brief(), RESEARCH, article, revision).text
    assert "small business owners" in structure(revised)[1].lower()


def test_reviewer_feedback_is_never_written_into_the_article(model):
    article = write(model, brief())
    for reasons in (["quality"], ["length", "structure", "sources"]):
        revision = review_revision(brief=brief(), article=article, reasons=reasons, feedback=FEEDBACK,
                                   target_words=800)
        revised = model.revise(brief(), RESEARCH, article, revision).text
        assert "zanzibar" not in revised.lower() and "tone feels off" not in revised.lower()
        assert revised == model.revise(brief(), RESEARCH, article, replace(revision, feedback="")).text


def test_findings_text_is_not_parsed_by_the_offline_writer(model):
    the_brief = brief(primary_keyword="", style="technical", tone="casual")
    article = write(model, the_brief, NO_RESEARCH)
    with_keyword = replace(the_brief, primary_keyword="async communication")
    findings = ('The primary keyword "async communication" is missing.', "Reduce keyword density; it is stuffed.",
                "Name the audience: small business owners.")
    told = model.revise(with_keyword, NO_RESEARCH, article, Revision(findings=findings)).text
    assert told == model.revise(with_keyword, NO_RESEARCH, article, Revision()).text
    assert occurrences(told, "async communication") == 0


def test_offline_writer_reads_no_prose_field_of_a_revision():
    source = inspect.getsource(offline)
    assert "revision.findings" not in source and "revision.feedback" not in source
