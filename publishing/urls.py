from django.contrib.sitemaps.views import sitemap
from django.urls import path

from publishing import feeds, seo, views
from publishing.search_views import search_page

app_name = "publishing"

urlpatterns = [
    path("", views.post_list, name="post_list"),
    path("posts/<slug:slug>/", views.post_detail, name="post_detail"),
    path("category/<slug:slug>/", views.category_archive, name="category"),
    path("tag/<slug:slug>/", views.tag_archive, name="tag"),
    path("search/", search_page, name="search"),
    path("feeds/rss/", feeds.LatestPostsRss(), name="feed_rss"),
    path("feeds/atom/", feeds.LatestPostsAtom(), name="feed_atom"),
    path("category/<slug:slug>/feeds/rss/", feeds.CategoryRss(), name="category_feed_rss"),
    path("category/<slug:slug>/feeds/atom/", feeds.CategoryAtom(), name="category_feed_atom"),
    path("tag/<slug:slug>/feeds/rss/", feeds.TagRss(), name="tag_feed_rss"),
    path("tag/<slug:slug>/feeds/atom/", feeds.TagAtom(), name="tag_feed_atom"),
    path("sitemap.xml", sitemap, {"sitemaps": seo.SITEMAPS}, name="sitemap"),
    path("robots.txt", seo.robots_txt, name="robots_txt"),
]
