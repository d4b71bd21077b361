"""How long a piece is: `article_word_count`, the one rule the writers, the QA rubric, the
versions and the reading times share."""

from __future__ import annotations

import pytest

from content.citations import without_sources_section
from content.formatting import format_article
from content.providers.base import Source
from content.textstats import article_word_count, count_words, plain_text

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


@pytest.mark.parametrize(("markdown", "read"), [
    ("See [Compost](https://en.example.org/wiki/Compost_(soil)) for more.", "See Compost for more."),
    ("Read <https://example.com/x> now.", "Read now."),
    ("Name it snake_case.", "Name it snake_case."),
    ("It costs 5 * 3 = 15 euros.", "It costs 5 * 3 = 15 euros."),
    ("Intro ![tracker](https://t.example/p.gif) text.", "Intro text."),
    ('A <a href=" onclick=alert(1)">raw anchor</a> here.</script>', "A raw anchor here."),
    ("Inline <script>alert(1)</script>gone.", "Inline gone."),
    ("<div onclick=\"steal()\">\nblock text\n</div>", "block text"),
    ("Use Rc<RefCell<T>> or Arc<Mutex<T>>.", "Use Rc<RefCell<T>> or Arc<Mutex<T>>."),
    ("Read Vec<u8> as Option<Box<Node>> <!-- a note --> does.", "Read Vec<u8> as Option<Box<Node>> does."),
    ("<T>\nnames a type parameter.", "<T> names a type parameter."),
    ("Pros &amp; cons, *said* **she** [1, 2].", "Pros & cons, said she."),
    ("Before\n\n~~~\nfenced code\n~~~\n\n    indented code\n\nafter `inline code`.", "Before after inline code."),
])
def test_plain_text_is_what_a_reader_reads(markdown, read):
    assert " ".join(plain_text(markdown).split()) == read


def test_markup_entities_and_raw_html_are_not_words():
    assert count_words("Pros &amp; cons <span class='x'>here</span> <!-- a note to the editor -->") == 3


def test_generic_types_are_words_and_html_elements_are_not():
    assert count_words("Wrap it in Rc<RefCell<T>> first.") == count_words("Wrap it in Rc RefCell T first.")
    assert count_words("Wrap it in <b>bold</b> <em>first</em>.") == count_words("Wrap it in bold first.")
