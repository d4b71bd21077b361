from django.urls import path, register_converter
from django.urls.converters import StringConverter

from publishing import feeds, search_views, seo, views
from publishing.caching import SEARCH_PAGES
from publishing.caching import cached_blog_page as cached

app_name = "publishing"


class AnySlugConverter(StringConverter):
    """A slug in any script (`salads`, `σαλάτες`, `東京`), as `slugify(allow_unicode=True)` makes
    them; Django's `<slug:>` takes ASCII only."""

    regex = r"[-\w]+"


register_converter(AnySlugConverter, "anyslug")

PAGE = ("page",)  # the one query parameter of lists and archives (`cached` keys pages on what a view reads)

urlpatterns = [
    path("", cached(views.post_list, reads=PAGE), name="post_list"),
    path("posts/<anyslug:slug>/", cached(views.post_detail), name="post_detail"),
    path("category/<anyslug:slug>/", cached(views.category_archive, reads=PAGE), name="category"),
    path("tag/<anyslug:slug>/", cached(views.tag_archive, reads=PAGE), name="tag"),
    path("search/", cached(search_views.search_page, reads=search_views.QUERY_PARAMETERS, pages=SEARCH_PAGES),
         name="search"),
    path("feeds/rss/", cached(feeds.LatestPostsRss()), name="feed_rss"),
    path("feeds/atom/", cached(feeds.LatestPostsAtom()), name="feed_atom"),
    path("category/<anyslug:slug>/feeds/rss/", cached(feeds.CategoryRss()), name="category_feed_rss"),
    path("category/<anyslug:slug>/feeds/atom/", cached(feeds.CategoryAtom()), name="category_feed_atom"),
    path("tag/<anyslug:slug>/feeds/rss/", cached(feeds.TagRss()), name="tag_feed_rss"),
    path("tag/<anyslug:slug>/feeds/atom/", cached(feeds.TagAtom()), name="tag_feed_atom"),
    path("sitemap.xml", cached(seo.sitemap_page, reads=("p",)), {"sitemaps": seo.SITEMAPS}, name="sitemap"),
    path("sitemap-<slug:section>.xml", cached(seo.sitemap_page, reads=("p",)), {"sitemaps": seo.SITEMAPS},
         name="sitemap_part"),
    path("robots.txt", seo.robots_txt, name="robots_txt"),
]
