"""Routes of the content API under /api/, each with or without a trailing slash."""

from django.urls import re_path

from content.api import views

urlpatterns = [
    re_path(r"^tasks/estimate/?$", views.EstimateApi.as_view(), name="task_estimate"),
    re_path(r"^tasks/(?P<task_id>[^/]+)/versions/?$", views.VersionListApi.as_view(), name="version_list"),
    re_path(r"^tasks/(?P<task_id>[^/]+)/versions/(?P<number>[0-9]+)/?$", views.VersionDetailApi.as_view(),
            name="version_detail"),
]
