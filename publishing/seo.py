"""`sitemap.xml` and `robots.txt` of the public blog.

The sitemap lists published posts (lastmod: the post's `updated_at`) and the categories and tags
that have at least one published post (lastmod: their newest post's `updated_at`); drafts,
scheduled and unpublished posts never appear, nor do taxonomies only they use. Each part is
paged by SITEMAP_PAGE_URLS addresses; while every part fits one page `/sitemap.xml` is the whole
sitemap, and once one does not it is the sitemap index naming every page of every part
(`/sitemap-<part>.xml?p=N`), so that no address is out of a crawler's reach.
"""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import index, sitemap
from django.db.models import Max
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


# Addresses in one page of a sitemap part. Django's default, the protocol's 50,000, made one page
# of 6 MB that took 5–7 s, and the posts past the 50,000th were on `?p=2`, which nothing named.
SITEMAP_PAGE_URLS = 5_000


class BlogSitemap(Sitemap):
    limit = SITEMAP_PAGE_URLS


class PostSitemap(BlogSitemap):
    changefreq = "weekly"

    def items(self):
        return Post.objects.published().order_by("-published_at", "-created_at").only(
            "slug", "updated_at", "published_at")

    def lastmod(self, item: Post):
        return item.updated_at

    def get_latest_lastmod(self):
        # The index's lastmod of the part; Django's reads every item for it.
        return Post.objects.published().aggregate(latest=Max("updated_at"))["latest"]

    def location(self, item: Post) -> str:
        return item.get_absolute_url()


class CategorySitemap(BlogSitemap):
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


def sitemap_page(request, sitemaps, section=None):
    """Django's sitemap view, reached only at a page's canonical address: Django reads `?p=01`,
    `?p=+1` or `?p= 1` as page 1, and each spelling would keep another copy of the whole sitemap in
    the page cache. Another spelling redirects (`blog.page_redirect`); a page past the end is
    Django's 404. `/sitemap.xml` is the index of the parts' pages once a part has more than one."""
    moved = blog.page_redirect(request, blog.page_number(request.GET.get("p")), parameter="p")
    if moved:
        return moved
    if section is None and "p" not in request.GET and any(part().paginator.num_pages > 1 for part in sitemaps.values()):
        return index(request, sitemaps, sitemap_url_name="publishing:sitemap_part")
    return sitemap(request, sitemaps, section=section)


@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@require_safe
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("publishing:sitemap"))
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /api/", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
