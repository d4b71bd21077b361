"""Routes of the publishing API under /api/, each with or without a trailing slash."""

from django.urls import re_path

from publishing.api import views

TASK = r"^tasks/(?P<task_id>[^/]+)"

urlpatterns = [
    re_path(rf"{TASK}/publish/?$", views.PublishApi.as_view(), name="task_publish"),
    re_path(rf"{TASK}/unpublish/?$", views.UnpublishApi.as_view(), name="task_unpublish"),
]
