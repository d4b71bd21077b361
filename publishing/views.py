"""The public blog: server-rendered pages of published posts (search and feeds come later)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from publishing.models import Post

POSTS_PER_PAGE = 10


def post_list(request):
    posts = Post.objects.published().select_related("category").order_by("-published_at")
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "publishing/post_list.html", {"page": page})


def post_detail(request, slug: str):
    post = get_object_or_404(Post.objects.published().select_related("category"), slug=slug)
    return render(request, "publishing/post_detail.html", {"post": post})
