"""URL map: the admin (oversight hub), the API, health probes and the public blog."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import api, health
from config.auth import CurrentUserView, TokenObtainView, TokenRefreshView

admin.site.site_header = "Pressroom"
admin.site.site_title = "Pressroom"
admin.site.index_title = "Editorial oversight"

api_patterns = [
    re_path(r"^auth/token/?$", TokenObtainView.as_view(), name="token_obtain"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token_refresh"),
    re_path(r"^auth/me/?$", CurrentUserView.as_view(), name="current_user"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include("content.api.urls")),  # before tasks: /tasks/estimate is not a task id
    path("", include("publishing.api.urls")),
    path("", include("tasks.api.urls")),
    re_path(r"^.*$", api.api_not_found),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("publishing.urls")),
]

if settings.DEBUG:
    urlpatterns.insert(0, re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
