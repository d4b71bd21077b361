"""What a citation is, one rule for everything that writes, checks, formats or shows citations."""

from content.citations import CITATION, cited_numbers, citation_link, citations_kept, without_citations
from content.formatting import format_article
from content.html import sanitize_html, without_citations_except
from content.providers.base import Research, Source
from content.quality.form import citations_check
from content.textstats import count_words

ARTICLE = "# Heat pumps\n\nThey work in frosts [1]. See [2](https://example.org/two) and the survey [3].\n"
SOURCES = (Source(1, "One", "https://example.org/one"), Source(3, "Three", "https://example.org/three"))


def test_a_markdown_link_whose_text_is_a_number_is_not_a_citation():
    assert cited_numbers(ARTICLE) == {1, 3}
    assert citations_check(ARTICLE, Research(notes="", sources=SOURCES)).details["dangling"] == []
    formatted = format_article(ARTICLE, fallback_title="x", sources=list(SOURCES))
    assert '<a href="#source-1"' in formatted.body_html and '<a href="#source-3"' in formatted.body_html
    assert '<a href="https://example.org/two"' in formatted.body_html and "#source-2" not in formatted.body_html


def test_citations_of_unknown_sources_go_with_the_space_before_them():
    assert citations_kept("Frosts [1] and floods [4].", {1}) == "Frosts [1] and floods."
    assert without_citations("Frosts [1] and floods [4].") == "Frosts and floods."


def test_citations_are_not_words():
    assert count_words("Frosts [1] and floods [2, 3] and storms [4–6].") == count_words("Frosts and floods and storms.")


def test_the_format_stages_citation_links_are_read_back_by_the_blog():
    """`citation_link` writes what `without_citations_except` (the blog) recognises, after the sanitizer."""
    html = sanitize_html(f"<p>Frosts {citation_link(1)} and floods {citation_link(3)}.</p>")
    assert citation_link(1) in html.replace(' rel="noopener noreferrer"', "")
    kept = without_citations_except(html, {1})
    assert "#source-1" in kept and "#source-3" not in kept


def test_a_dropped_citation_link_takes_the_space_before_it_along():
    # The blog drops the links to the editor's private notes: "hard work [1]." read "hard work ." there.
    html = sanitize_html(f"<p>It is hard work {citation_link(1)}. It pays {citation_link(2)}.</p>")
    kept = without_citations_except(html, {2})
    assert kept.startswith("<p>It is hard work. It pays <sup>") and "#source-2" in kept


def test_a_citation_link_of_a_number_no_source_has_is_dropped_however_long():
    # Generated HTML is untrusted: a link to "#source-<5,000 digits>" made int() raise at publication.
    html = sanitize_html(f'<p>Frosts {citation_link(1)} and <sup><a href="#source-{"9" * 5000}">[9]</a></sup>.</p>')
    kept = without_citations_except(html, {1, None, True})
    assert "#source-1" in kept and "#source-9" not in kept


def test_other_patterns_embed_the_one_citation_pattern():
    assert CITATION.fullmatch("[12]") and not CITATION.fullmatch("[12](") and not CITATION.match("[12](x)")
