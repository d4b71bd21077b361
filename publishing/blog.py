"""What the blog's pages print besides posts: pagination, reading time and the `<head>` metadata
(canonical URL, description, OpenGraph/Twitter image, JSON-LD).

Views call these with rows the selectors read; nothing here queries the database. Imports flow
publishing → content only.
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponsePermanentRedirect, HttpResponseRedirect
from django.http.response import HttpResponseRedirectBase
from django.utils.encoding import escape_uri_path
from django.utils.safestring import SafeString, mark_safe

from content.formatting import WORDS_PER_MINUTE, shorten, toc_tree
from content.textstats import article_word_count

POSTS_PER_PAGE = 10
SITE_NAME = "Pressroom"
SITE_DESCRIPTION = "Articles researched, written and reviewed by the Pressroom editorial team."
DESCRIPTION_MAX = 160
PAGE_PARAMETER_MAX = 12  # digits: anything longer is not a page number a person typed

_NUMBERED_HEADING = re.compile(r"\d+[.)]\s")
# As Django's json_script: inside <script>, "<", ">" and "&" could end the element or open a comment.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def page_number(raw) -> int:
    """The page a `?page=` asks for: a missing, malformed, huge, zero or negative one is page 1
    (`Paginator.get_page` alone would give the last page for `0` or `-1`)."""
    raw = str(raw or "")
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= PAGE_PARAMETER_MAX else 1
    return max(1, number)


def page_of(items, request, *, per_page: int = POSTS_PER_PAGE) -> Page:
    """The requested page of `items` (`page_number`); one past the end gives the last page (never
    an error)."""
    return Paginator(items, per_page).get_page(page_number(request.GET.get("page")))


def page_address(request, number: int, *, parameter: str = "page") -> str:
    """This page's path with `?page=number` (none for the first page), the request's other query
    parameters kept (a search's words, a newsletter's `utm_source`). Relative and built from the
    path only, so no `Host` header or parameter can make it point at another site."""
    query = [(name, value) for name, values in request.GET.lists() if name != parameter for value in values]
    if number > 1:
        query.append((parameter, str(number)))
    path = "/" + escape_uri_path(request.path).lstrip("/")  # never `//host`, a scheme-relative URL
    return path + (f"?{urlencode(query)}" if query else "")


def page_redirect(request, number: int, *, parameter: str = "page") -> HttpResponseRedirectBase | None:
    """None when the request names page `number` the one way the blog links to it (no `?page=` for
    the first page, `?page=N` once otherwise); else a redirect there.

    Only canonical addresses are rendered, so only they are kept in the page cache
    (`publishing.caching`): `?page=abc`, `?page=0007` or `?page=2&page=2` would each render and keep
    another copy of a page, and enough of them evict the real ones. The redirect is permanent when
    it only corrects the spelling of the page asked for (junk, zero and negative numbers ask for the
    first page); temporary when the page is past the end, since that page may exist tomorrow."""
    given = request.GET.getlist(parameter)
    if given == ([str(number)] if number > 1 else []):
        return None
    asked = page_number(given[-1] if given else None)
    redirect = HttpResponsePermanentRedirect if asked == number else HttpResponseRedirect
    return redirect(page_address(request, number, parameter=parameter))


def canonical_page_of(items, request, *,
                      per_page: int = POSTS_PER_PAGE) -> tuple[Page, HttpResponseRedirectBase | None]:
    """The requested page of `items` (`page_of`) and the redirect to its canonical address when the
    request did not name it so (`page_redirect`), else None."""
    page = page_of(items, request, per_page=per_page)
    return page, page_redirect(request, page.number)


def reading_minutes(post) -> int:
    """The format stage's reading time, or one counted from the body of a hand-written post."""
    minutes = (post.seo or {}).get("reading_time_minutes") if isinstance(post.seo, dict) else None
    if isinstance(minutes, int) and minutes > 0:
        return minutes
    return max(1, math.ceil(article_word_count(post.body or "") / WORDS_PER_MINUTE))


def with_reading_time(posts):
    """`posts`, each with `minutes` set for the list templates; returns them."""
    for post in posts:
        post.minutes = reading_minutes(post)
    return posts


def table_of_contents(post) -> list[dict]:
    """The post's headings that the body carries anchors for (the format stage's `toc`), each
    subsection under its section (`content.formatting.toc_tree`)."""
    entries = (post.seo or {}).get("toc") if isinstance(post.seo, dict) else None
    return toc_tree(entries, post.body_html)


def headings_numbered(toc: list[dict]) -> bool:
    """Whether every section's heading carries its own number ("1. Hours", as a listicle's do): the
    contents list then numbers nothing itself, or it reads "1. 1. Hours"."""
    return bool(toc) and all(_NUMBERED_HEADING.match(entry["title"]) for entry in toc)


def description_of(post) -> str:
    seo = post.seo if isinstance(post.seo, dict) else {}
    return shorten(str(seo.get("meta_description") or post.excerpt or post.title), DESCRIPTION_MAX)


def canonical_url(request, page: Page | None = None) -> str:
    """This page's absolute address, without any query but `?page=N` past the first page."""
    url = request.build_absolute_uri(request.path)
    if page is not None and page.number > 1:
        url += f"?page={page.number}"
    return url


def image_url(request, post) -> str:
    return request.build_absolute_uri(post.featured_image.url) if post.featured_image else ""


def json_ld(data: dict) -> SafeString:
    """`data` as JSON that is safe inside a `<script type="application/ld+json">` element."""
    return mark_safe(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES))


def blog_posting(request, post, *, description: str) -> SafeString:
    """The schema.org `BlogPosting` of a post page."""
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": description,
        "url": request.build_absolute_uri(post.get_absolute_url()),
        "mainEntityOfPage": request.build_absolute_uri(post.get_absolute_url()),
        "datePublished": post.published_at.isoformat(),
        "dateModified": post.updated_at.isoformat(),
        "author": {"@type": "Organization", "name": SITE_NAME},
        "publisher": {"@type": "Organization", "name": SITE_NAME},
        "keywords": [tag.name for tag in post.tags.all()],
    }
    if post.category:
        data["articleSection"] = post.category.name
    if post.featured_image:
        data["image"] = image_url(request, post)
    return json_ld(data)


def head(request, *, title: str, description: str = SITE_DESCRIPTION, page: Page | None = None,
         kind: str = "website", image: str = "", feeds: list[dict] | None = None) -> dict:
    """The `<head>` of a page: see templates/base.html."""
    return {"title": title, "description": shorten(description, DESCRIPTION_MAX),
            "canonical": canonical_url(request, page), "kind": kind, "image": image, "feeds": feeds or []}
