from django.contrib.sitemaps.views import sitemap
from django.urls import path

from publishing import feeds, seo, views
from publishing.caching import cached_blog_page as cached
from publishing.search_views import search_page

app_name = "publishing"

urlpatterns = [
    path("", cached(views.post_list), name="post_list"),
    path("posts/<slug:slug>/", cached(views.post_detail), name="post_detail"),
    path("category/<slug:slug>/", cached(views.category_archive), name="category"),
    path("tag/<slug:slug>/", cached(views.tag_archive), name="tag"),
    path("search/", cached(search_page), name="search"),
    path("feeds/rss/", cached(feeds.LatestPostsRss()), name="feed_rss"),
    path("feeds/atom/", cached(feeds.LatestPostsAtom()), name="feed_atom"),
    path("category/<slug:slug>/feeds/rss/", cached(feeds.CategoryRss()), name="category_feed_rss"),
    path("category/<slug:slug>/feeds/atom/", cached(feeds.CategoryAtom()), name="category_feed_atom"),
    path("tag/<slug:slug>/feeds/rss/", cached(feeds.TagRss()), name="tag_feed_rss"),
    path("tag/<slug:slug>/feeds/atom/", cached(feeds.TagAtom()), name="tag_feed_atom"),
    path("sitemap.xml", cached(sitemap), {"sitemaps": seo.SITEMAPS}, name="sitemap"),
    path("robots.txt", seo.robots_txt, name="robots_txt"),
]
