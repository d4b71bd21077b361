"""The application's URLs and `/bench/minimal`: one query, a short plain-text answer — what a
Django view costs on this server with nothing of the blog in it."""

from django.http import HttpResponse
from django.urls import include, path

from publishing.models import Post


def minimal(request):
    title = Post.objects.filter(slug="post-1").values_list("title", flat=True).first()  # a unique-index read
    return HttpResponse(title or "", content_type="text/plain")


urlpatterns = [path("bench/minimal", minimal), path("", include("config.urls"))]
