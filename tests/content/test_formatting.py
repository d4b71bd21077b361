"""The format stage: sanitized HTML, citations linked to sources, SEO limits, table of contents."""

import pytest
from markdown_it import MarkdownIt

from content.formatting import META_DESCRIPTION_MAX, SEO_TITLE_MAX, format_article, shorten, toc_tree
from content.html import sanitize_html
from content.providers.base import Source
from tasks.validators import validate_shown_line
from tests.html_safety import assert_inert, elements

HOSTILE = """# How Solar Panels Work: A Practical Guide for Homeowners Who Want Lower Energy Bills

Solar energy is growing quickly across the world [1]. Panels turn sunlight into electricity [2], and more [9].

## The basics <img src=x onerror=alert(1)>

Read <script>alert('x')</script> this and [click me](javascript:alert(1)) or <a href="javascript:alert(2)">that</a>.
<iframe src="https://evil.example"></iframe> <div onclick="steal()">text</div>

## Costs

Prices fell [1].

## Conclusion

Done.
"""
SOURCES = [Source(1, "IEA report", "https://iea.org/r"), Source(2, "NREL data", "https://nrel.gov/d")]


def test_model_output_comes_out_inert():
    formatted = format_article(HOSTILE, fallback_title="x", sources=SOURCES)
    assert_inert(formatted.body_html)
    tags = {tag for tag, _ in elements(formatted.body_html)}
    assert tags <= {"p", "h2", "sup", "a", "ol", "li"}, tags


@pytest.mark.parametrize("src", [
    "https://tracker.example/pixel.png", "http://tracker.example/p.gif", "//tracker.example/p.png",
    "data:image/png;base64,AAAA", "pixel.png",
])
def test_an_image_from_another_site_loses_its_source_and_keeps_its_alt_text(src):
    """Found by a hostile test: `![t](https://evil.example/pixel.png)` reached feeds and the API's
    body_html, so every feed reader loaded the tracker (the blog's CSP only blocked it on pages)."""
    formatted = format_article(f"# T\n\nText ![A heap]({src}) more.", fallback_title="x", sources=[])
    assert ("img", {"alt": "A heap"}) in elements(formatted.body_html)
    assert "tracker" not in formatted.body_html and "src=" not in formatted.body_html


@pytest.mark.parametrize("src", ["/\\tracker.example/p.png", "/\t/tracker.example/p.png", " //tracker.example/p.png"])
def test_sanitizing_drops_a_source_a_browser_reads_as_another_host(src):
    assert sanitize_html(f'<img src="{src}" alt="A heap">') == '<img alt="A heap">'


def test_an_image_of_this_site_stays():
    formatted = format_article("# T\n\n![A heap](/media/posts/2026/12/heap.png)", fallback_title="x", sources=[])
    assert ("img", {"src": "/media/posts/2026/12/heap.png", "alt": "A heap"}) in elements(formatted.body_html)


def test_citations_link_to_a_numbered_sources_section():
    formatted = format_article(HOSTILE, fallback_title="x", sources=SOURCES)
    assert '<a href="#source-1"' in formatted.body_html and '<li id="source-2" value="2">' in formatted.body_html
    assert "[9]" not in formatted.body, "a citation of no source is dropped"
    assert formatted.body.rstrip().endswith("2. [NREL data](https://nrel.gov/d)")


def test_a_citation_inside_an_attribute_code_or_a_link_stays_text_and_the_markup_stays_whole():
    text = ('# T\n\nIntro ![A heap [1] of compost](/media/heap.png) and a claim [1]. '
            'See [the guide](https://example.com/guide "Guide [1] here"), [link [1] text](https://example.com/l) '
            'and `items[1]`.\n\n```\nfirst = items[1]\n```\n')
    formatted = format_article(text, fallback_title="x", sources=SOURCES)
    assert_inert(formatted.body_html)
    found = elements(formatted.body_html)
    assert ("img", {"src": "/media/heap.png", "alt": "A heap [1] of compost"}) in found
    assert ("a", {"href": "https://example.com/guide", "title": "Guide [1] here", "rel": "noopener noreferrer"}) in found
    assert ">link [1] text</a>" in formatted.body_html and "<code>items[1]</code>" in formatted.body_html
    assert "<pre><code>first = items[1]\n</code></pre>" in formatted.body_html
    assert formatted.body_html.count('href="#source-1"') == 1 and "a claim <sup>" in formatted.body_html


def test_a_source_keeps_its_number_in_the_sources_list_when_one_before_it_is_not_cited():
    # Sources 1 and 3 are cited, 2 is not: an ordered list would show 3 as "2." with the id source-2.
    sources = [Source(n, f"Source {n}", f"https://example.com/{n}") for n in (1, 2, 3)]
    formatted = format_article("# T\n\nClaim one [1]. Claim three [3].\n", fallback_title="x", sources=sources)
    assert_inert(formatted.body_html)
    items = [attrs for tag, attrs in elements(formatted.body_html) if tag == "li"]
    assert items == [{"id": "source-1", "value": "1"}, {"id": "source-3", "value": "3"}]
    assert '<a href="#source-3"' in formatted.body_html
    item = formatted.body_html.split('id="source-3"', 1)[1].split("</li>", 1)[0]
    assert 'href="https://example.com/3"' in item


def test_a_source_url_with_a_space_a_lone_parenthesis_or_angle_brackets_is_still_a_link_in_the_sources_list():
    sources = [Source(1, "Spaced", "https://example.com/my page"), Source(2, "Paren", "https://example.com/x)y"),
               Source(3, "Angled", "https://example.com/<b>"), Source(4, "Two\n\nlines", "https://example.com/4")]
    formatted = format_article("# T\n\nOne [1]. Two [2]. Three [3]. Four [4].\n", fallback_title="x", sources=sources)
    assert_inert(formatted.body_html)
    links = [attrs["href"] for tag, attrs in elements(formatted.body_html) if tag == "a" and not attrs["href"].startswith("#")]
    assert links == ["https://example.com/my%20page", "https://example.com/x)y", "https://example.com/%3Cb%3E",
                     "https://example.com/4"]
    assert "](https://" not in formatted.body_html
    assert [attrs["id"] for tag, attrs in elements(formatted.body_html) if tag == "li"] == [
        "source-1", "source-2", "source-3", "source-4"]
    assert ">Paren</a></li>" in formatted.body_html and ">Two lines</a></li>" in formatted.body_html


def test_seo_fields_respect_their_limits():
    formatted = format_article(HOSTILE, fallback_title="x", sources=SOURCES)
    assert len(formatted.seo_title) <= SEO_TITLE_MAX and formatted.seo_title.endswith("…")
    assert len(formatted.meta_description) <= META_DESCRIPTION_MAX
    assert formatted.excerpt.startswith("Solar energy is growing quickly across the world. Panels")
    assert formatted.slug == "how-solar-panels-work-a-practical-guide-for-homeowners-who-want-lower-energy-bills"[:80].strip("-")
    assert formatted.reading_time_minutes == 1


def test_the_excerpt_and_meta_description_are_the_first_paragraph_as_read():
    text = ("# T\n\n## Intro\n\n![tracker](https://t.example/p.gif)\n\n**Compost** turns scraps into soil [1]. "
            "See [Compost](https://en.example.org/wiki/Compost_(soil)), <https://example.com/x> and snake_case; "
            '5 * 3 <a href=" onclick=alert(1)">raw anchor</a>.</script>\n\nSecond paragraph.')
    formatted = format_article(text, fallback_title="x", sources=SOURCES)
    expected = "Compost turns scraps into soil. See Compost, and snake_case; 5 * 3 raw anchor."
    assert formatted.excerpt == formatted.meta_description == expected


def test_without_a_paragraph_the_excerpt_is_the_whole_text_after_the_title():
    formatted = format_article("# Lists only\n\n- Compost scraps\n- Turn the heap", fallback_title="x", sources=[])

    assert formatted.excerpt == "Compost scraps Turn the heap"


def test_a_body_is_parsed_once_into_html_and_once_for_its_text(monkeypatch):
    parsed, parse = [], MarkdownIt.parse

    def counted(self, src, env=None):
        parsed.append(src)
        return parse(self, src, env)

    monkeypatch.setattr(MarkdownIt, "parse", counted)
    body = "Unique words for this test: " + " ".join(f"w{n}" for n in range(200)) + " [1]."

    formatted = format_article(f"# A title seen once\n\n{body}", fallback_title="x", sources=SOURCES)

    assert [len(src) >= len(body) for src in parsed].count(True) == 2  # the title alone is tiny
    assert formatted.word_count == 4 + 5 + 200


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_title_is_cut_only_at_a_line_feed(separator):
    formatted = format_article(f"# Compost{separator}at home\n\nBody text.", fallback_title="x", sources=[])

    assert formatted.title == "Compost at home"
    assert formatted.excerpt == "Body text."


def test_a_titles_bidirectional_controls_go_and_an_empty_title_is_the_fallback():
    assert format_article("# \u202eCompost\u2066 at home\n\nBody.", fallback_title="x", sources=[]).title == (
        "Compost at home")
    assert format_article("# \u202e \n\nBody.", fallback_title="The brief's topic", sources=[]).title == (
        "The brief's topic")


@pytest.mark.parametrize("control", ["\x1b", "\x07", "\x7f", "\x9b"], ids=["ESC", "BEL", "DEL", "CSI"])
def test_a_titles_control_characters_go_so_a_published_title_passes_the_posts_own_rule(control):
    # A model's "# Compost\x1b[31m at home" kept its ESC: published, the post's title broke the
    # rule Post.title holds every edit to (validate_shown_line), and the admin refused any change.
    formatted = format_article(f"# Compost{control}[31m at home {control} \n\nBody.", fallback_title="x",
                               sources=[])

    assert formatted.title == "Compost[31m at home"
    validate_shown_line(formatted.title)


def test_identical_headings_are_numbered_in_order_past_a_heading_that_took_a_number_itself():
    body = "# T\n\n## Intro 3\n\n" + "\n\n".join("## Intro\n\nText." for _ in range(5))

    formatted = format_article(body, fallback_title="x", sources=[])

    assert [entry["id"] for entry in formatted.toc] == ["intro-3", "intro", "intro-2", "intro-4", "intro-5", "intro-6"]
    assert [item["id"] for item in toc_tree(formatted.toc, formatted.body_html)] == [e["id"] for e in formatted.toc]


def test_headings_get_ids_for_the_table_of_contents():
    text = "# T\n\nIntro [1].\n\n## The basics\n\nA.\n\n### In detail\n\nB.\n\n## The basics\n\nC.\n\n## Conclusion\n\nD."
    formatted = format_article(text, fallback_title="x", sources=SOURCES)
    assert [(e["id"], e["level"]) for e in formatted.toc] == [
        ("the-basics", 2), ("in-detail", 3), ("the-basics-2", 2), ("conclusion", 2)]
    ids = [attrs.get("id") for tag, attrs in elements(formatted.body_html) if tag == "h2"]
    assert ids == ["the-basics", "the-basics-2", "conclusion", "sources"]


def test_an_articles_own_sources_heading_is_in_the_contents_and_leaves_the_sources_anchors_to_the_list():
    """Found in a review: the contents dropped every "Sources" entry, the article's own section
    too, and that section took `#sources`, which a page listing the sources has as well."""
    text = "# T\n\nIntro [1].\n\n## Sources\n\nWe read a report [1].\n\n## Source 2\n\nA.\n\n## Costs\n\nB [2]."
    formatted = format_article(text, fallback_title="x", sources=SOURCES)
    assert [(e["id"], e["title"]) for e in formatted.toc] == [
        ("sources-2", "Sources"), ("source-2-2", "Source 2"), ("costs", "Costs")]
    ids = [attrs["id"] for _, attrs in elements(formatted.body_html) if "id" in attrs]
    assert ids == ["sources-2", "source-2-2", "costs", "sources", "source-1", "source-2"]
    assert [item["id"] for item in toc_tree(formatted.toc, formatted.body_html)] == ["sources-2", "source-2-2", "costs"]


def test_a_heading_with_an_ampersand_quotes_or_a_tag_is_listed_in_the_contents_as_written():
    # The TOC holds plain text (the templates escape it once); the anchor is made from that text.
    text = '# T\n\n## Pros & cons\n\nA.\n\n## "Hot" composting\n\nB.\n\n## Quoted <b>heading</b>\n\nC.'
    formatted = format_article(text, fallback_title="x", sources=[])
    assert [(e["id"], e["title"]) for e in formatted.toc] == [
        ("pros-cons", "Pros & cons"), ("hot-composting", '"Hot" composting'),
        ("quoted-bheadingb", "Quoted <b>heading</b>")]
    ids = [attrs.get("id") for tag, attrs in elements(formatted.body_html) if tag == "h2"]
    assert ids == [e["id"] for e in formatted.toc]


def test_the_table_of_contents_lists_each_subsection_under_its_section():
    text = "# T\n\n### Before any section\n\nA.\n\n## One\n\nB.\n\n### One a\n\nC.\n\n### One b\n\nD.\n\n## Two\n\nE."
    formatted = format_article(text, fallback_title="x", sources=SOURCES)
    tree = toc_tree(formatted.toc, formatted.body_html)
    assert [(e["id"], [c["id"] for c in e["children"]]) for e in tree] == [
        ("before-any-section", []), ("one", ["one-a", "one-b"]), ("two", [])]


def test_a_stored_table_of_contents_lists_only_entries_the_body_has_anchors_for():
    # Stored JSON: a version's seo may have been written by an older format stage or by hand.
    html = '<h2 id="5">Five</h2><h2 id="x">X</h2>'
    assert toc_tree(None, html) == toc_tree({"id": "x"}, html) == toc_tree("one", html) == []
    assert toc_tree([{"title": "no id"}, 7, {"id": 5, "title": None, "level": "3"}, {"id": "gone"}], html) == [
        {"id": "5", "title": "", "children": []}]


def test_shorten_cuts_at_a_word_boundary():
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("short", 10) == "short"
