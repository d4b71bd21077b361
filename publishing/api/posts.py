"""The public posts API: `GET /api/posts` (filters, ordering, pages) and `GET /api/posts/{slug}`.

Read-only and anonymous (`publishing.api.public`). Only `Post.objects.published()` is ever read,
so drafts, scheduled and unpublished posts are neither listed nor found (404). A page costs the
same few queries however many posts and tags it holds: the category is joined, the tags
prefetched, and the list leaves the bodies unread.

Query parameters are checked, not trusted: a `category` or `tag` that is not a slug is a 400 with
the field named, a page that does not exist a 404, an unknown `ordering` or parameter is ignored.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from publishing.api.public import THROTTLED, PublicReadMixin
from publishing.models import Post, Tag
from publishing.selectors import public_sources
from tasks.api.filters import StableOrderingFilter

# The list leaves out what only the detail shows (and the search vector nobody shows).
LIST_DEFERRED = ("body", "body_html", "body_text", "sources", "search_vector")


def public_posts():
    return Post.objects.published().select_related("category").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "name", "slug")))


class SlugFilter(django_filters.CharFilter):
    """A category or tag slug; anything else (`<script>`, a NUL byte) is a 400, not an empty page."""

    field_class = forms.SlugField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_unicode", True)  # slugs are in any script: `σαλάτες`, `東京`
        super().__init__(*args, **kwargs)


class PostFilter(django_filters.FilterSet):
    category = SlugFilter(field_name="category__slug", help_text="A category's slug.")
    tag = SlugFilter(field_name="tags__slug", help_text="A tag's slug.")

    class Meta:
        model = Post
        fields = ["category", "tag"]


# --- Output ---------------------------------------------------------------------------------

class TaxonomyOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


class FeaturedImageOutput(serializers.Serializer):
    url = serializers.URLField()
    thumbnail_url = serializers.URLField(allow_null=True)
    alt = serializers.CharField()
    credit = serializers.CharField(help_text="Whom the image is credited to; may be empty.")
    credit_url = serializers.CharField(help_text="Where the credit links to; may be empty.")


class SourceOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text="The body cites it as [number].")
    title = serializers.CharField()
    url = serializers.CharField()


class PostSummaryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    title = serializers.CharField()
    excerpt = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The post's page on the blog.")
    published_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    category = TaxonomyOutput(allow_null=True)
    tags = TaxonomyOutput(many=True)
    reading_time = serializers.SerializerMethodField(help_text="Minutes; null when unknown.")
    featured_image = serializers.SerializerMethodField()

    def _absolute(self, path: str) -> str:
        return self.context["request"].build_absolute_uri(path)

    @extend_schema_field(serializers.URLField())
    def get_url(self, post: Post) -> str:
        return self._absolute(post.get_absolute_url())

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_reading_time(self, post: Post) -> int | None:
        minutes = (post.seo or {}).get("reading_time_minutes")
        return minutes if isinstance(minutes, int) else None

    @extend_schema_field(FeaturedImageOutput(allow_null=True))
    def get_featured_image(self, post: Post) -> dict | None:
        if not post.featured_image:
            return None
        return {
            "url": self._absolute(post.featured_image.url),
            "thumbnail_url": self._absolute(post.thumbnail.url) if post.thumbnail else None,
            "alt": post.image_alt, "credit": post.image_credit, "credit_url": post.image_credit_url,
        }


class PostDetailOutput(PostSummaryOutput):
    body_html = serializers.CharField(help_text="Sanitized HTML, safe to insert as is.")
    sources = serializers.SerializerMethodField()
    meta_description = serializers.SerializerMethodField()

    @extend_schema_field(SourceOutput(many=True))
    def get_sources(self, post: Post) -> list[dict]:
        return public_sources(post)  # the same list as the post page: never the editor's notes

    @extend_schema_field(serializers.CharField())
    def get_meta_description(self, post: Post) -> str:
        return (post.seo or {}).get("meta_description") or post.excerpt


# --- Views ----------------------------------------------------------------------------------

class PostListApi(PublicReadMixin, GenericAPIView):
    queryset = Post.objects.none()  # names the model for the schema; get_queryset() is what runs
    serializer_class = PostSummaryOutput
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = PostFilter
    ordering_fields = ["published_at"]
    ordering = ["-published_at"]

    def get_queryset(self):
        return public_posts().defer(*LIST_DEFERRED)

    @extend_schema(
        tags=["blog"], summary="Published posts, newest first",
        description="Filter by `category` and `tag` (slugs); `ordering=published_at` for oldest first. "
        "Drafts, scheduled and unpublished posts never appear. No authentication; throttled per address.",
        responses={
            200: PostSummaryOutput(many=True),
            400: OpenApiResponse(description="`category` or `tag` is not a slug, in the usual error body."),
            404: OpenApiResponse(description="No such page (`page` past the last, zero or not a number)."),
            **THROTTLED,
        },
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PostSummaryOutput(page, many=True, context={"request": request}).data)


class PostDetailApi(PublicReadMixin, APIView):
    @extend_schema(
        tags=["blog"], summary="One published post, with its body and sources",
        description="404 for a draft, scheduled, unpublished or unknown post.",
        parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH)],
        responses={200: PostDetailOutput,
                   404: OpenApiResponse(description="No published post with this slug."), **THROTTLED},
    )
    def get(self, request, slug):
        post = get_object_or_404(public_posts(), slug=slug)
        return Response(PostDetailOutput(post, context={"request": request}).data)
