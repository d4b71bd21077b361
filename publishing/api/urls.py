"""Routes of the publishing API under /api/, each with or without a trailing slash."""

from django.urls import re_path

from publishing.api import views
from publishing.api.search import PostSearchApi

TASK = r"^tasks/(?P<task_id>[^/]+)"

urlpatterns = [
    re_path(r"^posts/search/?$", PostSearchApi.as_view(), name="post_search"),
    re_path(rf"{TASK}/publish/?$", views.PublishApi.as_view(), name="task_publish"),
    re_path(rf"{TASK}/unpublish/?$", views.UnpublishApi.as_view(), name="task_unpublish"),
]
