"""`sitemap.xml` and `robots.txt` of the public blog.

The sitemap lists published posts (lastmod: the post's `updated_at`) and the categories and tags
that have at least one published post (lastmod: their newest post's `updated_at`); drafts,
scheduled and unpublished posts never appear, nor do taxonomies only they use.
"""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import sitemap
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from publishing import blog
from publishing.models import Category, Post, Tag
from publishing.selectors import public_names_with_last_post


def _archive_url(name: str, prefix: str, slug: str) -> str:
    # The archive pages' routes come with the archive pages; until then their agreed paths.
    try:
        return reverse(f"publishing:{name}", kwargs={"slug": slug})
    except NoReverseMatch:
        return f"/{prefix}/{slug}/"


class PostSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Post.objects.published().order_by("-published_at", "-created_at").only(
            "slug", "updated_at", "published_at")

    def lastmod(self, item: Post):
        return item.updated_at

    def location(self, item: Post) -> str:
        return item.get_absolute_url()


class CategorySitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return public_names_with_last_post(Category)

    def lastmod(self, item):
        return item.last_post

    def location(self, item) -> str:
        return _archive_url("category", "category", item.slug)


class TagSitemap(CategorySitemap):
    def items(self):
        return public_names_with_last_post(Tag)

    def location(self, item) -> str:
        return _archive_url("tag", "tag", item.slug)


SITEMAPS = {"posts": PostSitemap, "categories": CategorySitemap, "tags": TagSitemap}


def sitemap_page(request, sitemaps):
    """Django's sitemap view, reached only at a page's canonical address: Django reads `?p=01`,
    `?p=+1` or `?p= 1` as page 1, and each spelling would keep another copy of the whole sitemap in
    the page cache. Another spelling redirects (`blog.page_redirect`); a page past the end is
    Django's 404."""
    moved = blog.page_redirect(request, blog.page_number(request.GET.get("p")), parameter="p")
    return moved or sitemap(request, sitemaps)


@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@require_safe
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("publishing:sitemap"))
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /api/", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
