"""The post page's `scroll_regions` filter (publishing/templatetags/blog_html.py)."""

from __future__ import annotations

from django.utils.safestring import SafeData, mark_safe

from content.html import render_markdown
from publishing.templatetags.blog_html import scroll_regions

TABLE_AND_CODE = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nx = 1\n```\n\n| c |\n|---|\n| 3 |\n"


def test_each_table_and_code_block_is_a_named_region_that_tab_reaches():
    html = scroll_regions(mark_safe(render_markdown(TABLE_AND_CODE)))
    assert isinstance(html, SafeData)
    assert html.count('<div class="scroll-region" role="region" tabindex="0"') == 3
    assert 'aria-label="Table 1"><table>' in html and 'aria-label="Table 2"><table>' in html
    assert 'aria-label="Code 1"><pre>' in html
    assert html.count("</table></div>") == 2 and html.count("</pre></div>") == 1


def test_html_not_marked_safe_is_escaped_not_wrapped():
    assert scroll_regions("<table><tr><td>1</td></tr></table>") == "&lt;table&gt;&lt;tr&gt;&lt;td&gt;1&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;"


def test_text_that_only_names_a_table_is_left_alone():
    html = scroll_regions(mark_safe(render_markdown("Type `<table>` or <pre> and see.")))
    assert "scroll-region" not in html
