"""Template filters for the blog: what the post page adds around a post's sanitized HTML, and
the cards' excerpts.

The sanitizer (`content.html`) keeps no `tabindex`, `role` or `aria-*` attribute, and should not:
they would be the writer's to set. What only the page knows (that a wide table or a long line of
code scrolls inside the page's column) the page adds here, around the sanitized HTML, never in it.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, mark_safe

from content.formatting import shorten_to_words

register = template.Library()

# After the sanitizer, a `<` in text or in an attribute value is escaped: these match only elements.
_SCROLLING = re.compile(r"<(table|pre)\b[^>]*>.*?</\1>", re.DOTALL | re.IGNORECASE)
_NAMES = {"table": "Table", "pre": "Code"}


@register.filter(is_safe=True)
def scroll_regions(html):
    """Each table and code block in a region of its own that scrolls sideways, reached by Tab and
    named ("Table 1", "Code 2"): a keyboard reader can scroll it with the arrow keys, and the page
    itself never scrolls sideways. HTML not already marked safe is escaped, never trusted."""
    if not isinstance(html, SafeData):
        return conditional_escape(html)
    counts = dict.fromkeys(_NAMES, 0)

    def wrapped(match: re.Match) -> str:
        kind = match.group(1).lower()
        counts[kind] += 1
        return format_html('<div class="scroll-region" role="region" tabindex="0" aria-label="{} {}">{}</div>',
                           _NAMES[kind], counts[kind], mark_safe(match.group(0)))  # noqa: S308 (safe input)

    return mark_safe(_SCROLLING.sub(wrapped, html))  # noqa: S308 (safe input, markup of our own)


@register.filter
def first_words(text, words: int) -> str:
    """A card's excerpt: its first `words` words, cut as `content.formatting.shorten_to_words` cuts
    (Django's truncatewords put the ellipsis after a full stop: "people.…")."""
    return shorten_to_words(str(text), int(words))
