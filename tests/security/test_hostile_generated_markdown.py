"""Hostile Markdown from a model, through the format stage: whatever its shape, the piece's words
reach the page.

markdown-it stops at `maxNesting` levels (20; a list level counts two); past it, it skipped every
line to the end of the document. A list nested ten deep took the rest of the article with it.
"""

from __future__ import annotations

from content.citations import without_sources_section
from content.formatting import format_article
from content.html import render_markdown
from content.html import without_sources_section as without_sources_section_html
from content.providers.base import Source
from content.textstats import article_word_count, plain_text

SOURCES = [Source(1, "A practical guide", url="https://example.org/guide")]
DEEP_LIST = "".join(f"{'  ' * depth}- level {depth}\n" for depth in range(15))
DEEP_QUOTE = "> " * 25 + "the deepest words\n"


def _article(nested: str) -> str:
    return f"# Composting\n\nComposting turns scraps into soil [1].\n\n{nested}\n## Later section\n\nLast words.\n"


def test_a_list_nested_too_deep_keeps_the_rest_of_the_article_and_its_sources():
    html = format_article(_article(DEEP_LIST), fallback_title="Composting", sources=SOURCES).body_html
    assert '<h2 id="later-section">Later section</h2>' in html
    assert "<p>Last words.</p>" in html
    assert '<li id="source-1" value="1"><a href="https://example.org/guide"' in html


def test_the_items_of_a_list_nested_too_deep_stay_as_text_in_paragraphs():
    html = render_markdown(DEEP_LIST)
    assert "<p>level 9</p>\n<p>- level 10</p>" in html  # not "level 9- level 10", run together
    assert all(f"level {depth}" in html for depth in range(15))


def test_a_quote_nested_too_deep_keeps_its_words_and_what_follows():
    html = format_article(_article(DEEP_QUOTE), fallback_title="Composting", sources=SOURCES).body_html
    assert "&gt; &gt; &gt; &gt; &gt; the deepest words" in html
    assert "<p>Last words.</p>" in html


def test_the_words_of_a_list_nested_too_deep_are_counted_and_read_as_the_page_shows_them():
    formatted = format_article(_article(DEEP_LIST), fallback_title="Composting", sources=SOURCES)

    text = plain_text(formatted.body)
    assert all(f"level {depth}" in text for depth in range(15))
    assert "Last words." in text
    # title 1, first paragraph 5, the list 15 × 2, "Later section" 2, "Last words" 2
    assert formatted.word_count == article_word_count(formatted.body) == 1 + 5 + 30 + 2 + 2


MIDDLE_SOURCES = ("# Composting\n\nComposting turns scraps into soil [1].\n\n## Sources\n\nNitrogen comes from greens.\n\n"
                  "- grass\n- peelings\n\n## Treatment\n\nTurn the heap weekly.\n")


def test_an_articles_own_sources_section_in_its_middle_keeps_what_follows():
    formatted = format_article(MIDDLE_SOURCES, fallback_title="Composting", sources=SOURCES)

    assert "Nitrogen comes from greens." in formatted.body
    assert "## Treatment\n\nTurn the heap weekly." in formatted.body
    assert formatted.body.endswith("## Sources\n\n1. [A practical guide](https://example.org/guide)")
    assert "Turn the heap weekly." in plain_text(without_sources_section(formatted.body))
    page = without_sources_section_html(formatted.body_html)
    assert "<p>Turn the heap weekly.</p>" in page and "<li>peelings</li>" in page
    assert 'id="source-1"' not in page  # the appended list goes: the blog lists the public sources itself
