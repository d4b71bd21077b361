"""RSS 2.0 and Atom feeds of published posts: site-wide, per category and per tag.

Each item carries the post's full content: `body_html`, which is already sanitized when the post
is saved, and its public sources, so feed readers get exactly the HTML the blog shows (escaped by
the XML writer).
Only `Post.objects.published()` is ever listed — drafts, scheduled and unpublished posts never.
"""

from __future__ import annotations

import re

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape

from publishing.models import Category, Post, Tag
from publishing.selectors import public_sources

FEED_ITEMS = 20
SITE_TITLE = "Pressroom"


# What XML 1.0 cannot hold, though HTML and the database can: control characters other than tab,
# newline and carriage return (Django's XML writer raises on them), lone surrogates, U+FFFE/U+FFFF.
# A post's title, body or category with one (a model's output, a pasted text) made every feed
# listing it answer 500, the site-wide ones included.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value):
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, (list, tuple)):
        return type(value)(_xml_text(part) for part in value)
    return value


class _XmlTextOnly:
    """A feed generator that drops what XML cannot hold from every text it is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*map(_xml_text, args), **{key: _xml_text(value) for key, value in kwargs.items()})

    def add_item(self, *args, **kwargs):
        super().add_item(*map(_xml_text, args), **{key: _xml_text(value) for key, value in kwargs.items()})


class _FullContentRss(_XmlTextOnly, Rss201rev2Feed):
    """RSS 2.0 with the full post in `content:encoded` (the description holds the excerpt)."""

    def rss_attributes(self):
        return {**super().rss_attributes(), "xmlns:content": "http://purl.org/rss/1.0/modules/content/"}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content:encoded", item["content"])


class _FullContentAtom(_XmlTextOnly, Atom1Feed):
    """Atom with the full post as `<content type="html">`."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


class LatestPostsRss(Feed):
    feed_type = _FullContentRss
    title = SITE_TITLE
    description = "The latest posts."

    def link(self, obj=None):
        return reverse("publishing:post_list")

    def posts(self, obj):
        return Post.objects.published()

    def items(self, obj=None):
        return (self.posts(obj).select_related("category").prefetch_related("tags")
                .order_by("-published_at", "-created_at")[:FEED_ITEMS])

    def item_title(self, item: Post) -> str:
        return item.title

    def item_description(self, item: Post) -> str:
        # Readers take an RSS description (and Atom's summary, typed "html") as HTML; the excerpt is
        # plain text, so it is escaped: markup in it shows as text and never runs.
        return escape(item.excerpt or item.title)

    def item_link(self, item: Post) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Post) -> str:
        return f"urn:uuid:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Post):
        return item.published_at

    def item_updateddate(self, item: Post):
        return item.updated_at

    def item_categories(self, item: Post):
        names = [item.category.name] if item.category else []
        return names + [tag.name for tag in item.tags.all()]

    def item_extra_kwargs(self, item: Post) -> dict:
        # The body and the same public sources list as the post page (never the private notes).
        sources = render_to_string("publishing/_sources.html", {"sources": public_sources(item)})
        return {"content": item.body_html + sources}


class LatestPostsAtom(LatestPostsRss):
    feed_type = _FullContentAtom
    subtitle = LatestPostsRss.description


def _public(subject, posts):
    """`subject`, a category or tag, if it has a published post: like its archive page, a feed of
    one with none is a 404, so a name only drafts use stays private."""
    if not posts.exists():
        raise Http404("No published posts here.")
    return subject


class CategoryRss(LatestPostsRss):
    def get_object(self, request, slug: str):
        category = get_object_or_404(Category, slug=slug)
        return _public(category, self.posts(category))

    def title(self, obj):
        return f"{SITE_TITLE}: {obj.name}"

    def description(self, obj):
        return obj.description or f"The latest posts in {obj.name}."

    def posts(self, obj):
        return Post.objects.published().filter(category=obj)


class CategoryAtom(CategoryRss):
    feed_type = _FullContentAtom

    def subtitle(self, obj):
        return self.description(obj)


class TagRss(LatestPostsRss):
    def get_object(self, request, slug: str):
        tag = get_object_or_404(Tag, slug=slug)
        return _public(tag, self.posts(tag))

    def title(self, obj):
        return f"{SITE_TITLE}: {obj.name}"

    def description(self, obj):
        return f"The latest posts tagged {obj.name}."

    def posts(self, obj):
        return Post.objects.published().filter(tags=obj)


class TagAtom(TagRss):
    feed_type = _FullContentAtom

    def subtitle(self, obj):
        return self.description(obj)
