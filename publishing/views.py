"""The public blog's pages: home, a post, category and tag archives (search: `search_views`).

Thin views: the selectors read (published posts only), `publishing.blog` builds what the
`<head>` says, the templates print it. Server-rendered, no JavaScript.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from publishing import blog, selectors
from publishing.models import Category, Tag


def _feeds(name: str, rss: str, atom: str, **kwargs) -> list[dict]:
    return [{"title": f"{name} (RSS)", "type": "application/rss+xml", "url": reverse(rss, kwargs=kwargs)},
            {"title": f"{name} (Atom)", "type": "application/atom+xml", "url": reverse(atom, kwargs=kwargs)}]


def post_list(request):
    page, moved = blog.canonical_page_of(selectors.blog_posts(), request)
    if moved:
        return moved
    blog.with_reading_time(page)
    title = blog.SITE_NAME if page.number == 1 else f"Page {page.number} · {blog.SITE_NAME}"
    return render(request, "publishing/post_list.html", {
        "page": page, "head": blog.head(request, title=title, page=page),
    })


def post_detail(request, slug: str):
    post = selectors.blog_post(slug)
    if post is None:
        moved = selectors.redirected_post(slug)
        if moved is None:
            raise Http404("No such post.")
        return redirect(moved, permanent=True)
    description = blog.description_of(post)
    previous, following = selectors.neighbours(post)
    toc = blog.table_of_contents(post)
    context = {
        "post": post,
        "tags": list(post.tags.all()),
        "reading_minutes": blog.reading_minutes(post),
        "toc": toc,
        "toc_numbered_by_headings": blog.headings_numbered(toc),
        "sources": selectors.public_sources(post),
        "related": blog.with_reading_time(selectors.related_posts(post)),
        "previous": previous,
        "next": following,
        "provenance": selectors.provenance(post) if settings.PRESSROOM_SHOW_PROVENANCE else None,
        "show_provenance": settings.PRESSROOM_SHOW_PROVENANCE,
        "json_ld": blog.blog_posting(request, post, description=description),
        "head": blog.head(request, title=f"{post.title} · {blog.SITE_NAME}", description=description,
                          kind="article", image=blog.image_url(request, post)),
    }
    return render(request, "publishing/post_detail.html", context)


def _archive(request, *, heading: str, kind: str, subject, posts, feeds: list[dict]):
    page, moved = blog.canonical_page_of(posts, request)
    if not page.paginator.count:
        raise Http404(f"No published posts in this {kind}.")  # a name only drafts use stays private
    if moved:
        return moved
    blog.with_reading_time(page)
    suffix = "" if page.number == 1 else f" (page {page.number})"
    description = getattr(subject, "description", "") or f"Posts {heading.lower()} on {blog.SITE_NAME}."
    return render(request, "publishing/archive.html", {
        "page": page, "heading": heading, "kind": kind, "subject": subject, "feeds": feeds,
        "head": blog.head(request, title=f"{heading}{suffix} · {blog.SITE_NAME}", page=page,
                          description=description, feeds=feeds),
    })


def _public_name_or_redirect(model, slug: str, url_name: str):
    """The category or tag at `slug`; else a permanent redirect from its old address to `url_name`
    with its slug now; else 404."""
    found = model.objects.filter(slug=slug).first()
    if found is not None:
        return found, None
    moved = selectors.redirected_public_name(model, slug)
    if moved is None:
        raise Http404(f"No such {model._meta.verbose_name}.")
    return None, redirect(url_name, slug=moved.slug, permanent=True)


def category_archive(request, slug: str):
    category, moved = _public_name_or_redirect(Category, slug, "publishing:category")
    if moved:
        return moved
    return _archive(request, heading=f"In {category.name}", kind="category", subject=category,
                    posts=selectors.category_posts(category),
                    feeds=_feeds(category.name, "publishing:category_feed_rss", "publishing:category_feed_atom",
                                 slug=category.slug))


def tag_archive(request, slug: str):
    tag, moved = _public_name_or_redirect(Tag, slug, "publishing:tag")
    if moved:
        return moved
    return _archive(request, heading=f"Tagged {tag.name}", kind="tag", subject=tag, posts=selectors.tag_posts(tag),
                    feeds=_feeds(tag.name, "publishing:tag_feed_rss", "publishing:tag_feed_atom", slug=tag.slug))
