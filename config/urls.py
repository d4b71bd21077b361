"""URL map: the admin (oversight hub), the API, health probes and the public blog."""

from django.contrib import admin
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import api, health, metrics
from config.auth import CurrentUserView, LogoutView, TokenObtainView, TokenRefreshView
from publishing.media import media


class SwaggerUiView(SpectacularSwaggerSplitView):
    """Swagger UI's page and its initialising script. OPTIONS names the methods: DRF's own answer
    (a description of the view) goes to the page's HTML renderer, which has no template for it
    (a 500)."""

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods)})


admin.site.site_header = "Pressroom"
admin.site.site_title = "Pressroom"
admin.site.index_title = "Editorial oversight"

api_patterns = [
    re_path(r"^auth/token/?$", TokenObtainView.as_view(), name="token_obtain"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token_refresh"),
    re_path(r"^auth/logout/?$", LogoutView.as_view(), name="logout"),
    re_path(r"^auth/me/?$", CurrentUserView.as_view(), name="current_user"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's initialising script from ?script (no inline script, for the CSP).
    re_path(
        r"^docs/?$",
        SwaggerUiView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    path("", include("content.api.urls")),  # before tasks: /tasks/estimate is not a task id
    path("", include("publishing.api.urls")),
    path("", include("tasks.api.urls")),
    re_path(r"^.*$", api.api_not_found),
]

@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@require_safe
def favicon(request):
    """Pages that name no icon (feeds, the sitemap, API answers) still get one when a browser asks.
    The address is looked up per request: with hashed static files it exists only after collectstatic."""
    return HttpResponsePermanentRedirect(static("pressroom/favicon.svg"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    # Uploaded media in every mode, each file only to those who may see it (publishing.media).
    re_path(r"^media/(?P<path>.*)$", media, name="media"),
    path("", include("publishing.urls")),
]
