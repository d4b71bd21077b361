"""The search page: `GET /search/?q=…&category=&tag=&from=&to=&sort=relevance|date&page=`.

Server-rendered, works without JavaScript. Any query answers 200 (an empty one shows the form);
one over 200 characters answers 400 with a readable page. Bad dates and sorts are ignored rather
than refused; a `page` that is not how the page is linked redirects there (`blog.page_redirect`),
the other parameters kept.
"""

from __future__ import annotations

from datetime import date
from html import escape
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe

from config.postgresql.base import planned_for_its_values
from publishing import blog
from publishing.models import Category, Post, Tag
from publishing.selectors import public_names
from publishing.search import SearchQueryTooLong, clean_query, safe_headline, search_posts, suggest_titles

RESULTS_PER_PAGE = 10
SORTS = ("relevance", "date")


def parse_date(value) -> date | None:
    try:
        parsed = date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        return None
    return parsed if 1900 <= parsed.year <= 9999 else None


def _slug(value) -> str:
    value = str(value or "").strip()
    return value if value and len(value) <= 100 and all(ch.isalnum() or ch in "-_" for ch in value) else ""


# Every query parameter the search page reads (its page cache keys on these only).
QUERY_PARAMETERS = ("q", "category", "tag", "from", "to", "sort", "page")


def search_params(params) -> dict:
    """The filters of a search request, invalid values dropped."""
    sort = params.get("sort", "relevance")
    return {
        "category": _slug(params.get("category")),
        "tag": _slug(params.get("tag")),
        "date_from": parse_date(params.get("from")),
        "date_to": parse_date(params.get("to")),
        "order": sort if sort in SORTS else "relevance",
    }


def _options(choices, selected: str) -> SafeString:
    """<option> elements for a filter: built here, as a blog may have hundreds of tags and a
    template loop (or format_html) over them would cost more than the search itself."""
    return mark_safe("".join(
        f'<option value="{escape(slug)}"{" selected" if slug == selected else ""}>{escape(name)}</option>'
        for slug, name in choices
    ))


def search_page(request):
    raw = request.GET.get("q", "")
    filters = search_params(request.GET)
    context = {
        "q": "", "filters": filters, "page": None, "suggestions": [], "error": "",
        "category_options": _options(public_names(Category).values_list("slug", "name"), filters["category"]),
        "tag_options": _options(public_names(Tag).values_list("slug", "name"), filters["tag"]),
        "head": blog.head(request, title=f"Search · {blog.SITE_NAME}",
                          description=f"Search the posts of {blog.SITE_NAME}."),
    }
    try:
        q = clean_query(raw)
    except SearchQueryTooLong as exc:
        context.update(q=raw.replace("\x00", "")[:200], error=str(exc))
        return render(request, "publishing/search.html", context, status=exc.status_code)
    context["q"] = q
    if not q and (moved := blog.page_redirect(request, 1)):
        return moved  # the form alone has no pages
    if q:
        # The estimate that picks the ranking, and the ranking itself, depend on the words searched:
        # planned for them each time, never by a prepared statement's generic plan.
        with planned_for_its_values(Post):
            results = search_posts(q, **filters)
            page = Paginator(results, RESULTS_PER_PAGE).get_page(blog.page_number(request.GET.get("page")))
            if moved := blog.page_redirect(request, page.number):
                return moved
            context["results_complete"] = results.complete
            for post in page:
                post.safe_headline = safe_headline(post.headline)
            context["page"] = page
            if not page.paginator.count and results.complete:  # bounded: the words are common, not misspelt
                context["suggestions"] = suggest_titles(q)
        kept = {"q": q, "category": filters["category"], "tag": filters["tag"],
                "from": filters["date_from"] or "", "to": filters["date_to"] or "", "sort": filters["order"]}
        context["querystring"] = urlencode({key: value for key, value in kept.items() if value})
    return render(request, "publishing/search.html", context)
