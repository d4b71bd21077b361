"""Reads of publishing: a task's post, the versions a post carried, what a user may do now, and
the public blog's reads (lists, archives, a post with its neighbours, related posts, provenance).

Every blog read starts from `Post.objects.published()`: drafts, scheduled and unpublished posts
never appear in a list, an archive, a related list or a previous/next link.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Now

from config.postgresql.base import planned_for_its_values
from content.models import ApprovalEvent, ContentVersion, Decision, VersionPhase
from content.providers.base import stored_sources
from publishing.models import Category, Post, Tag
from publishing.services import posts
from tasks.exceptions import DomainError
from tasks.models import ModelCatalogEntry

PUBLISH_ACTIONS = ("publish", "schedule", "unpublish")


def task_post(task) -> Post | None:
    return Post.objects.filter(task_id=task.pk).select_related("version", "category").first()


def _summary(post: Post) -> dict:
    return {"id": post.pk, "slug": post.slug, "url": post.get_absolute_url(), "published_at": post.published_at}


def task_post_summaries(task_ids) -> dict:
    """`{task id: {id, slug, url, published_at}}` for the tasks among `task_ids` that have a post, in
    one query; the task API reads it through the `PRESSROOM_TASK_POST_SUMMARIES` hook (`tasks`
    never imports `publishing`). `published_at` is None for an unpublished post, in the future for
    a scheduled one."""
    posts = Post.objects.filter(task_id__in=list(task_ids)).only("id", "slug", "published_at", "task_id")
    return {post.task_id: _summary(post) for post in posts}


def task_post_summary(task) -> dict | None:
    """The summary of one task's post (see `task_post_summaries`), or None."""
    return task_post_summaries([task.pk]).get(task.pk)


def carried_versions(post: Post) -> list[dict]:
    """The versions a post has carried, oldest first: number, when, by whom."""
    if post.task_id is None:
        return []
    events = (ApprovalEvent.objects.filter(task_id=post.task_id, decision__in=[Decision.PUBLISHED, Decision.SCHEDULED])
              .select_related("version", "actor").order_by("created_at"))
    carried, seen = [], set()
    for event in events:
        if event.version_id and event.version_id not in seen:
            seen.add(event.version_id)
            carried.append({"number": event.version.number, "at": event.created_at, "by": event.actor})
    return carried


def publish_actions(user, task) -> list[str]:
    """The publishing verbs `user` may take on `task` now ("publish" publishes the approved version
    now, a republish on a published task; "schedule" publishes it later, while the post is not live)."""
    allowed = []
    for action, check in (("publish", posts.check_publish), ("schedule", posts.check_schedule),
                          ("unpublish", posts.check_unpublish)):
        try:
            check(user, task)
        except DomainError:
            continue
        allowed.append(action)
    return allowed


# --- the public blog ---------------------------------------------------------------------------
RELATED_WINDOW = 2000  # the newest published posts related posts are chosen from
RELATED_LIMIT = 3
_WORD = re.compile(r"[^\W_]{3,}")


def blog_posts():
    """Published posts, newest first, with what a list shows (category; no search vector)."""
    return (Post.objects.published().select_related("category").defer("search_vector", "body_html", "body_text")
            .order_by("-published_at", "-created_at"))


def category_posts(category: Category):
    return blog_posts().filter(category=category)


def tag_posts(tag: Tag):
    return blog_posts().filter(tags=tag)


# How a post names its category or its tags, for `public_names`.
_POST_FIELD = {"category": "category", "tag": "tags"}


def public_names(model):
    """The categories or tags (`model`) that at least one published post has, by slug: only these
    names are public (the sitemap, the search page's filters); a name only drafts, scheduled or
    unpublished posts use stays private.

    One EXISTS per name, which stops at the name's first published post: the search page asks on
    every search, and grouping every published post by its names cost ~150 ms a page at 20,000
    posts (docs/performance.md, "Blog search at 100,000 posts")."""
    posts = Post.objects.published().filter(**{_POST_FIELD[model._meta.model_name]: OuterRef("pk")})
    return model.objects.filter(Exists(posts)).order_by("slug")


def public_names_with_last_post(model):
    """`public_names`, each with `last_post`, when the newest of its published posts changed (the
    sitemap's lastmod): this one reads every published post's row, for a page the blog's cache
    renders once per version."""
    live = Q(posts__published_at__isnull=False, posts__published_at__lte=Now())  # as `Post.objects.published()`
    return public_names(model).annotate(last_post=Max("posts__updated_at", filter=live))


def blog_post(slug: str) -> Post | None:
    """The published post at `slug`, with its category, tags and the model that wrote it."""
    return (Post.objects.published().select_related("category", "task__model").defer("search_vector")
            .prefetch_related("tags").filter(slug=slug).first())


def redirected_post(slug: str) -> Post | None:
    """The published post that was at `slug` before its slug changed (`SlugRedirect`), if any."""
    return Post.objects.published().filter(old_slugs__slug=slug).only("slug").first()


def redirected_public_name(model, slug: str):
    """The public category or tag (`model`, `public_names`) that was at `slug` before its slug
    changed, if any: a name only drafts use does not give its new slug away."""
    return public_names(model).filter(old_slugs__slug=slug).only("slug").first()


def neighbours(post: Post) -> tuple[Post | None, Post | None]:
    """The published posts just before and just after `post` (by `published_at`, then id)."""
    published = Post.objects.published().only("slug", "title", "published_at")
    earlier = Q(published_at__lt=post.published_at) | Q(published_at=post.published_at, pk__lt=post.pk)
    later = Q(published_at__gt=post.published_at) | Q(published_at=post.published_at, pk__gt=post.pk)
    previous = published.filter(earlier).order_by("-published_at", "-pk").first()
    following = published.filter(later).order_by("published_at", "pk").first()
    return previous, following


def related_posts(post: Post, *, limit: int = RELATED_LIMIT) -> list[Post]:
    """Other published posts that share the most tags with `post`, then read most alike: the
    rank of the post's title and tag words (any of them) against their title, excerpt and tags
    (`search_head`). One query, over the newest `RELATED_WINDOW` published posts only, so a post
    page costs the same with a hundred posts or a hundred thousand (older posts are not offered)."""
    tag_ids = [tag.pk for tag in post.tags.all()]
    words = list(dict.fromkeys(_WORD.findall(" ".join([post.title, *(tag.name for tag in post.tags.all())]))))[:24]
    shared = Subquery(
        Post.tags.through.objects.filter(post_id=OuterRef("pk"), tag_id__in=tag_ids).order_by()
        .values("post_id").annotate(n=Count("*")).values("n"), output_field=IntegerField())
    window = Post.objects.published().exclude(pk=post.pk).order_by("-published_at").values("pk")[:RELATED_WINDOW]
    candidates = blog_posts().filter(pk__in=window).annotate(shared=Coalesce(shared, Value(0)))
    if words:
        query = SearchQuery(" or ".join(words), search_type="websearch", config="english")
        candidates = candidates.annotate(likeness=SearchRank(F("search_head"), query))
        matches = Q(shared__gt=0) | Q(search_head=query)
        order = ("-shared", "-likeness", "-published_at")
    else:
        matches, order = Q(shared__gt=0), ("-shared", "-published_at")
    with planned_for_its_values(Post):  # a generic plan took 5 × as long
        return list(candidates.filter(matches).order_by(*order)[:limit])


def public_sources(post: Post) -> list[dict]:
    """The post's sources a reader may see: never the editor's private pasted notes."""
    listed = []
    for source in stored_sources(post.sources):
        if not source.is_private and (source.title or source.link):
            listed.append({"number": source.number, "title": source.title or source.link, "url": source.link})
    return listed


PIPELINE_TEXT_PHASES = (VersionPhase.DRAFT, VersionPhase.QA, VersionPhase.IMAGE, VersionPhase.FORMAT)


def provenance(post: Post) -> dict | None:
    """How a post made from a task came to be, from its versions and the audit trail: who wrote the
    text it carries (`written`: "model", "model_edited" when people edited a model's text,
    "from_outline" when people wrote it from a model's outline, "people"), the model that wrote
    (or outlined) it, and when a person approved that version. None for a hand-written post.
    Names no one."""
    if post.task_id is None:
        return None
    listed_name = ModelCatalogEntry.objects.filter(key=OuterRef("model_key")).values("display_name")[:1]
    versions = list(ContentVersion.objects.filter(task_id=post.task_id).order_by("number")
                    .annotate(model_name=Subquery(listed_name))
                    .values("id", "number", "phase", "model_key", "model_name", "is_outline", "created_by_id",
                            "task__model__display_name"))
    carried = next((v for v in versions if v["id"] == post.version_id), versions[-1] if versions else None)
    last = _restored_from(carried) if carried and carried["phase"] == VersionPhase.RESTORE else carried
    history = [v for v in versions if last and v["number"] <= last["number"]]
    # The pipeline's text (research notes are not text); a version without its model's key (older
    # rows) was written by the task's model.
    by_pipeline = [v for v in history if v["created_by_id"] is None and v["phase"] in PIPELINE_TEXT_PHASES]
    by_model = [v for v in by_pipeline if not v["is_outline"]]
    outlines = [v for v in by_pipeline if v["is_outline"]]
    edited = any(v["phase"] == VersionPhase.EDIT for v in history)
    if by_model:
        written, wrote = ("model_edited" if edited else "model"), by_model[-1]
    elif edited and outlines:
        written, wrote = "from_outline", outlines[-1]
    else:
        written, wrote = "people", None
    if wrote is None:
        model = ""
    elif wrote["model_key"]:
        model = wrote["model_name"] or wrote["model_key"]  # the key of a model no longer listed
    else:
        model = wrote["task__model__display_name"] or ""
    carried_approval = ExpressionWrapper(Q(version_id=post.version_id), output_field=BooleanField())
    approval = (ApprovalEvent.objects.filter(task_id=post.task_id, decision=Decision.APPROVED)
                .annotate(carried=carried_approval).order_by("-carried", "-created_at").only("created_at").first())
    return {"written": written, "model": model, "with_model": f"the model {model}" if model else "a language model",
            "approved_at": approval.created_at if approval else None}


def _restored_from(restore: dict) -> dict:
    """The version a restore copied, as far as the history goes: the newest earlier version with
    the restore's title and body that is not itself a restore (the restore itself if none is)."""
    copied = ContentVersion.objects.filter(pk=restore["id"])
    source = (ContentVersion.objects
              .filter(task_id=Subquery(copied.values("task_id")), number__lt=restore["number"],
                      title=Subquery(copied.values("title")), body=Subquery(copied.values("body")))
              .exclude(phase=VersionPhase.RESTORE).order_by("-number").values("number").first())
    return {**restore, "number": source["number"]} if source else restore
