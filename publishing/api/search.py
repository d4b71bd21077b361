"""Public search API: `GET /api/posts/search?q=…` with the search page's semantics.

Anonymous and throttled like every public read endpoint (`publishing.api.public`). Filters
`category`, `tag`, `from`, `to`, `sort` (relevance|date) and `page` as on the page; an empty query
gives no results; over 200 characters answers 400 with the API's error body. For a very common
word ranking is bounded (`publishing.search.search_posts`, docs/performance.md) and `count` is the
number of ranked candidates, not of all matching posts.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.postgresql.base import planned_for_its_values
from publishing import blog
from publishing.api.public import THROTTLED, PublicReadMixin
from publishing.models import Post
from publishing.search import clean_query, safe_headline, search_posts
from publishing.search_views import RESULTS_PER_PAGE, search_params

RESULT = inline_serializer("SearchResult", many=True, fields={
    "id": serializers.UUIDField(), "slug": serializers.CharField(), "title": serializers.CharField(),
    "excerpt": serializers.CharField(), "headline": serializers.CharField(help_text="HTML: escaped text, <mark> around matches, \" … \" where it skips text or cuts into a sentence."),
    "rank": serializers.FloatField(), "published_at": serializers.DateTimeField(), "url": serializers.URLField(),
})


class PostSearchApi(PublicReadMixin, APIView):
    @extend_schema(
        tags=["blog"], summary="Search published posts",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Web-search syntax: \"phrase\", or, -word; the last word also matches as a prefix. At most 200 characters."),
            OpenApiParameter("category", OpenApiTypes.STR), OpenApiParameter("tag", OpenApiTypes.STR),
            OpenApiParameter("from", OpenApiTypes.DATE), OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("sort", OpenApiTypes.STR, enum=["relevance", "date"]),
            OpenApiParameter("page", OpenApiTypes.INT),
        ],
        responses={200: inline_serializer("SearchResults", {"count": serializers.IntegerField(),
                                                              "results": RESULT}),
                   400: OpenApiResponse(description="The query is over 200 characters."), **THROTTLED},
    )
    def get(self, request):
        q = clean_query(request.query_params.get("q", ""))  # SearchQueryTooLong → 400
        if not q:
            return Response({"count": 0, "results": []})
        with planned_for_its_values(Post):  # as the search page: planned for its words
            page = Paginator(search_posts(q, **search_params(request.query_params)), RESULTS_PER_PAGE).get_page(
                blog.page_number(request.query_params.get("page")))
            return Response({"count": page.paginator.count, "results": [{
                "id": str(post.pk), "slug": post.slug, "title": post.title, "excerpt": post.excerpt,
                "headline": str(safe_headline(post.headline)), "rank": round(float(post.rank), 6),
                "published_at": post.published_at.isoformat(),
                "url": request.build_absolute_uri(post.get_absolute_url()),
            } for post in page]})
