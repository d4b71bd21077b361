"""How long a piece is: `article_word_count`, the one rule the writers, the QA rubric, the
versions and the reading times share."""

from __future__ import annotations

import pytest

from content.citations import without_sources_section
from content.formatting import format_article
from content.providers.base import Source
from content.textstats import article_word_count, count_words

PIECE = """# Heat pumps in old houses

A heat pump moves heat [1], see [the survey](https://example.org/survey) and https://example.org/raw.

## What they cost

- Installation runs high
- Running costs fall

1. Insulate first
2. Then size the pump

```
code is not prose
```

## Sources

1. [Energy Saving Trust: heat pumps](https://example.org/est)
2. [A second source](https://example.org/two)
"""


def test_a_piece_counts_its_title_headings_prose_lists_and_link_text():
    # Markdown syntax, the citation, the URLs and the code are not words; the link's text is.
    read = ("Heat pumps in old houses "
            "A heat pump moves heat see the survey and "
            "What they cost "
            "Installation runs high Running costs fall Insulate first Then size the pump")
    assert article_word_count(PIECE) == len(read.split()) == 29


def test_the_sources_section_is_not_part_of_a_piece():
    body = without_sources_section(PIECE)
    assert "Energy Saving Trust" not in body
    assert article_word_count(PIECE) == article_word_count(body) == count_words(body)
    assert count_words(PIECE) > article_word_count(PIECE), "the plain fragment count still counts every word"


@pytest.mark.parametrize("text", [
    "", "```\nx y z\n```", "# \n\n[1] [2]\n\n## Sources\n\n1. [Only](https://example.org)",
])
def test_a_piece_with_no_prose_has_no_words(text):
    assert article_word_count(text) == 0


def test_a_sources_heading_inside_the_text_is_not_the_appended_section():
    text = "# Title\n\nIntro words here.\n\n## Sources of heat\n\nAir and ground.\n"
    assert article_word_count(text) == count_words(text) == 10


def test_formatting_keeps_the_count_of_the_draft_it_formats():
    draft = without_sources_section(PIECE)
    formatted = format_article(draft, fallback_title="unused",
                               sources=[Source(1, "Energy Saving Trust: heat pumps", "https://example.org/est")])
    assert "## Sources" in formatted.body
    assert formatted.word_count == article_word_count(formatted.body) == article_word_count(draft)
