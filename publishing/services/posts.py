"""Publishing verbs: publish (now or scheduled), republish, unpublish, and hand-written posts.

A post made from a task is a copy of an approved version: `task_publish` creates it the first
time and updates it in place afterwards (same post, same slug, same URL), so it changes only here.
Each verb locks the task row (and the post row), checks permission and state, writes the
`ApprovalEvent` (published, scheduled, unpublished) in the same transaction and emits a
`publication` event, signalled after commit.

Scheduling: a post whose `published_at` is in the future is invisible until then (every public
read filters `published_at <= now`), so it appears at the scheduled time whatever runs or
restarts. Its going live is *recorded* once (audit row, event, signal) by
`record_due_publications`, run by a one-off django-q2 schedule at the time and by a sweep every
minute; the post's row lock and `live_recorded_at` make sure that happens exactly once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.text import slugify
from psycopg.errors import UniqueViolation

from config.locks import PUBLIC_NAMES, advisory_xact_lock, rows_locked_to_delete
from content.exceptions import PermissionDenied
from content.models import ApprovalEvent, ContentVersion, Decision
from content.providers.base import Source
from content.selectors import approved_version
from content.services.review import approval_revoked, clean_feedback
from publishing.models import Category, Post, PostChange, PostChangeKind, SlugRedirect, Tag
from publishing.search import post_refresh_search_vector
from publishing.services.edit_conflicts import check_edit_is_current
from tasks.events import emit
from tasks.exceptions import DomainError, InvalidTransition, NoLongerExists
from tasks.models import ApprovalStatus, EventKind, GenerationTask, Status, TaskType
from tasks.selectors import database_now
from tasks.services.actors import actor_kept
from tasks.services.lifecycle import locked_task

logger = logging.getLogger(__name__)

PUBLISH_PERMISSION = "publishing.publish_post"
RECORD_DUE_JOB = "publishing.jobs.record_due_publications"
SLUG_MAX = 200
PUBLISH_YEAR_MIN = 2000
# How far ahead a post may be scheduled. Python holds no year past 9999, and a time late on
# 31 December 9999 in UTC is already year 10000 in any zone east of it: stored, it could not be
# shown wherever the site's time zone (`TIME_ZONE`, which may change) puts it.
PUBLISH_AHEAD_YEARS = 100
PUBLISH_AHEAD_MAX = timedelta(days=36525)  # a hundred years of 365.25 days
PUBLISH_RANGE = f"from {PUBLISH_YEAR_MIN} (UTC) to at most {PUBLISH_AHEAD_YEARS} years ahead"
PUBLISH_RANGE_MESSAGE = f"The publication time is out of range: {PUBLISH_RANGE}."


# --- the rules (also asked by `publishing.selectors.publish_actions`) ------------------------
def _check_publisher(user, task) -> None:
    if not GenerationTask.objects.visible_to(user).filter(pk=task.pk).exists():
        raise PermissionDenied("You cannot see this task.")
    if not user.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied("Only holders of the publish permission (Reviewers) may publish or unpublish.")


def check_publish(user, task) -> None:
    """Publishing (or republishing) the approved version now or at a later time is allowed."""
    _check_publisher(user, task)
    if task.task_type != TaskType.BLOG_POST:
        raise InvalidTransition("Only a blog post can be published; an image task has no article.")
    if task.status != Status.COMPLETED:
        raise InvalidTransition(f"Only a completed task can be published; this one is {task.get_status_display().lower()}.")
    if task.approval_status != ApprovalStatus.APPROVED:
        raise InvalidTransition(
            f"Only an approved version can be published; this task is {task.get_approval_status_display().lower()}."
        )
    version = approved_version(task)
    if version is None:
        raise InvalidTransition("This task's approval names no version to publish.")
    post = Post.objects.filter(task_id=task.pk).first()
    if post is not None and post.version_id == version.pk and post.is_public:
        raise InvalidTransition(f"Version {version.number} is already published.")


def check_schedule(user, task) -> None:
    """Publishing the approved version at a later time is allowed: as publishing, and only while the
    task's post is not on the blog. A post has one text and one publication time, so scheduling a
    new version of a live post would take the live article down until then (and show the new text
    at once): publish it now, or unpublish first."""
    check_publish(user, task)
    post = Post.objects.filter(task_id=task.pk).first()
    if post is not None and post.is_public:
        raise InvalidTransition(
            "This task's post is on the blog now: publish the new version now, or unpublish the post first "
            "and then schedule it."
        )


def check_unpublish(user, task) -> None:
    _check_publisher(user, task)
    post = Post.objects.filter(task_id=task.pk).first()
    if post is None or post.published_at is None:
        raise InvalidTransition("This task has no published or scheduled post.")


# --- helpers ---------------------------------------------------------------------------------
def _named(model, name: str, limit: int):
    """The category or tag called `name` in any letter case (one at most: the database sees to it),
    made when there is none. Publications make theirs under the name lock, but a row made by any
    other way between the look-up and the insert is found again, not a 500.

    The row found is locked (FOR NO KEY UPDATE, which a deletion waits for and a post naming it
    does not) until the publication commits: a deletion under way is waited for and the name made
    again; before, the post named the deleted row and the publication failed at commit (a 500)."""
    named = model.objects.select_for_update(no_key=True).filter(name__iexact=name)
    found = named.first()
    if found is not None:
        return found
    slug = _free_slug(model, name, limit)
    try:
        with transaction.atomic():
            return model.objects.create(name=name, slug=slug)
    except IntegrityError:
        found = named.first()
        if found is None:  # the slug was taken, not the name
            raise
        return found


def _category(name: str) -> Category | None:
    name = " ".join(name.split())[:100]
    return _named(Category, name, 100) if name else None


def _tags(names) -> list[Tag]:
    tags = []
    for raw in names or ():
        name = " ".join(str(raw).split())[:50]
        if not name:
            continue
        tag = _named(Tag, name, 50)
        if tag not in tags:
            tags.append(tag)
    return tags


def save_under_name_lock(obj, refusal: DomainError) -> None:
    """Save `obj`, a post, category or tag whose name or slug must be unique, under the
    publications' name lock (`PUBLIC_NAMES`), so that it never takes turns with a publication
    choosing the same one; a name or slug taken since the caller checked it raises `refusal`."""
    advisory_xact_lock(PUBLIC_NAMES)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as error:
        if isinstance(error.__cause__, UniqueViolation):
            raise refusal from None
        raise


def slug_redirect_record(obj, *, old_slug: str) -> None:
    """Remember that `obj`, a post, category or tag, was at `old_slug` before a person changed its
    slug: that address now redirects to the new one. The slug it has now stops redirecting
    anywhere, so a page that takes back an old address is shown, not redirected away from."""
    kind = {Post: "post", Category: "category", Tag: "tag"}[type(obj)]
    of_kind = SlugRedirect.objects.filter(**{f"{kind}__isnull": False})
    of_kind.filter(slug__in={obj.slug, old_slug}).delete()
    if old_slug and old_slug != obj.slug:
        SlugRedirect.objects.create(slug=old_slug, **{kind: obj})


@transaction.atomic
def public_name_save_by_person(obj, *, changed: set[str], adding: bool,
                               loaded_fingerprint: str | None = None) -> None:
    """Save a category or tag a person added or changed; a changed slug leaves a redirect from the
    old address. `loaded_fingerprint`, its `edit_fingerprint` when the form was loaded, refuses a
    save that would silently undo someone else's (`check_edit_is_current`, under the row lock)."""
    # The name lock first, then the row (`config.locks`, PUBLIC_NAMES): every change of a slug
    # takes turns under it, so the slug read after it is the one stored (read before, a change
    # committed meanwhile was missed and its address left no redirect); and the row is locked only
    # after it, as a publication does (row first, a rename and a publication naming the category
    # each waited for the other: a deadlock).
    advisory_xact_lock(PUBLIC_NAMES)
    old_slug = None
    if not adding:
        old_slug = type(obj).objects.select_for_update().filter(pk=obj.pk).values_list("slug", flat=True).first()
        if old_slug is None:
            raise NoLongerExists(f"This {obj._meta.verbose_name} was deleted meanwhile; nothing was saved.")
        check_edit_is_current(type(obj), obj.pk, loaded_fingerprint)
    save_under_name_lock(obj, DomainError(f"A {obj._meta.verbose_name} with this name or slug was created "
                                          "meanwhile; nothing was saved."))
    if old_slug is not None and "slug" in changed:
        slug_redirect_record(obj, old_slug=old_slug)


@transaction.atomic
def public_names_delete_by_person(model, pks) -> int:
    """Delete the categories or tags (`model`) with these keys that still exist; how many were.

    Under the name lock, like every publication and every person's save of a post: a publication
    naming one of them at this moment has committed its post before the deletion looks for the
    posts that name it (and takes the name off it, as off every other), or waits and makes the
    name again. Before, the deletion missed the new post and failed at commit (a 500)."""
    advisory_xact_lock(PUBLIC_NAMES)
    found = rows_locked_to_delete(model.objects.filter(pk__in=list(pks)))
    if found:
        model.objects.filter(pk__in=found).delete()
    return len(found)


def _check_names_exist(post: Post, tags) -> None:
    """The category and tags a person chose for `post` still exist (under the name lock, which a
    deletion of them waits for); else the save is refused: saved, the post named a deleted row and
    failed at commit (a 500)."""
    gone = {}
    if post.category_id is not None and not Category.objects.filter(pk=post.category_id).exists():
        gone["category"] = ["Deleted meanwhile: choose again."]
    chosen = {tag.pk for tag in tags or ()}
    if chosen and Tag.objects.filter(pk__in=chosen).count() != len(chosen):
        gone["tags"] = ["One of them was deleted meanwhile: choose again."]
    if gone:
        raise DomainError(f"The {' and the '.join(gone)} chosen for this post {'were' if len(gone) > 1 else 'was'} "
                          "deleted meanwhile; nothing was saved.", fields=gone)


# `/api/posts/search` is the search endpoint, so no post made here is called "search".
RESERVED_POST_SLUGS = frozenset({"search"})


def _free_slug(model, name: str, limit: int, *, fallback: str = "item", reserved=frozenset()) -> str:
    """A slug of `name` that no row of `model` has yet and that is not `reserved`: `base`, then the
    first free of `base-2`, `base-3`… The slugs taken are read in one query (before, one query per
    namesake: the 500th "Weekly roundup" asked 500 times, under the publications' lock)."""
    base = slugify(name, allow_unicode=True)[: limit - 8].strip("-") or fallback
    pattern = re.compile(rf"{re.escape(base)}(-[0-9]+)?")
    taken = set(reserved) | {slug for slug in model.objects.filter(slug__startswith=base).values_list("slug", flat=True)
                             if pattern.fullmatch(slug)}
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _copy_file(field_file, name: str) -> ContentFile | None:
    if not field_file:
        return None
    try:
        with field_file.open("rb") as handle:
            return ContentFile(handle.read(), name=name)
    except OSError:
        logger.warning("Image %s of a published version is missing; the post has none.", field_file.name)
        return None


def _fill_from_version(post: Post, version: ContentVersion, task: GenerationTask) -> None:
    """Copy the version into the post: text, sanitized HTML, SEO, sources, image, taxonomy."""
    post.title = version.title[:300]
    post.body = version.body
    post.excerpt = version.excerpt
    post.seo = dict(version.seo or {})
    # Entries that cannot be read as sources are left out (the blog's reader skips them too).
    post.sources = [raw for raw in (version.sources if isinstance(version.sources, list) else [])
                    if (source := Source.from_stored(raw)) is not None and not source.is_private]
    post.version = version
    post.task = task
    post.image_alt = version.image_alt or version.title[:300]
    post.image_credit, post.image_credit_url = version.image_credit, version.image_credit_url
    extension = (version.image.name.rsplit(".", 1)[-1] if version.image else "png")[:5]
    stem = post.slug or "post"
    image = _copy_file(version.image, f"{stem}-v{version.number}.{extension}")
    thumbnail = _copy_file(version.thumbnail, f"{stem}-v{version.number}-thumb.{extension}")
    post.featured_image = image or ""
    post.thumbnail = thumbnail or ""
    post.category = _category(task.category)


def _record(task, *, by, decision: str, version, post: Post, message: str, feedback: str = "") -> ApprovalEvent:
    actor_kept(by)  # read before the transaction: kept until commit, or NoLongerExists (not a 500 at commit)
    event = ApprovalEvent.objects.create(task=task, version=version, decision=decision, actor=by, feedback=feedback)
    emit(task, EventKind.PUBLICATION, message=message, data={
        "decision": decision, "version": version.number if version else None,
        "actor": by.get_username() if by else None, "post": str(post.pk), "slug": post.slug,
        "published_at": post.published_at.isoformat() if post.published_at else None,
    })
    return event


def _clean_time(at) -> datetime | None:
    if at is None:
        return None
    if not isinstance(at, datetime):
        raise DomainError("The publication time must be a date and time.", fields={"at": ["A date and time."]})
    if timezone.is_naive(at):
        raise DomainError("Give the publication time with its time zone.", fields={"at": ["Include a time zone."]})
    if not publishable_time(at):
        raise DomainError(PUBLISH_RANGE_MESSAGE, fields={"at": [f"Out of range: {PUBLISH_RANGE}."]})
    return at


def publishable_time(at: datetime) -> bool:
    """Whether the aware `at` is from the start of PUBLISH_YEAR_MIN in UTC to at most
    PUBLISH_AHEAD_MAX from now. Judged as an instant, whatever offset it was written with
    (9999-12-31T23:59:59-23:59 is year 10000 in UTC), and with room to be shown in every zone:
    9999-12-31T23:30Z was stored and then every list showing it failed east of UTC."""
    earliest = datetime(PUBLISH_YEAR_MIN, 1, 1, tzinfo=dt_timezone.utc)
    return earliest <= at <= timezone.now() + PUBLISH_AHEAD_MAX


def _schedule_record(at: datetime) -> None:
    """A one-off django-q2 schedule at `at` that records due publications (after commit)."""

    def create():
        from django_q.models import Schedule

        try:
            Schedule.objects.create(func=RECORD_DUE_JOB, schedule_type=Schedule.ONCE, repeats=-1, next_run=at,
                                    name=f"publish-{at.isoformat()}-{timezone.now().timestamp()}"[:100])
        except Exception:  # the minute sweep records it anyway
            logger.warning("Could not schedule the go-live record for %s", at, exc_info=True)

    transaction.on_commit(create)


# --- the verbs -----------------------------------------------------------------------------------
@transaction.atomic
def task_publish(*, task: GenerationTask, by, at: datetime | None = None) -> Post:
    """Publish the approved version now, or at `at` when that is in the future. A task that was
    published before keeps its post (and URL): the post is updated in place.

    Now, and whether `at` is still to come, are the database's (`locked_task`'s `database_now`),
    the clock the blog shows posts by: a web process whose clock was ahead published "now" that
    much later, and took a time given a little ahead for the past."""
    at = _clean_time(at)
    task = locked_task(task)
    now = task.database_now
    scheduled = at is not None and at > now
    (check_schedule if scheduled else check_publish)(by, task)
    version = approved_version(task)
    # A free slug, and a category or tag that does not exist yet, are chosen by one publication
    # at a time: two at once found the same name free and the second failed on its unique key.
    advisory_xact_lock(PUBLIC_NAMES)
    post = Post.objects.select_for_update().filter(task_id=task.pk).first()
    republish = post is not None
    if post is None:
        base = (version.seo or {}).get("slug") or version.title
        post = Post(slug=_free_slug(Post, base, SLUG_MAX, fallback="post", reserved=RESERVED_POST_SLUGS))
    # A correction of a live post keeps its publication date (readers, feeds and search engines see it
    # as updated: `updated_at`), so it does not jump to the top of the blog as if it were new.
    correction = republish and not scheduled and post.is_public
    _fill_from_version(post, version, task)
    if not correction:
        post.published_at = at if scheduled else now
        post.live_recorded_at = None if scheduled else now
    post.save()
    post.tags.set(_tags(task.tags))
    post_refresh_search_vector(post)
    if scheduled:
        _schedule_record(at)
        _record(task, by=by, decision=Decision.SCHEDULED, version=version, post=post,
                message=f"Version {version.number} scheduled by {by} for {at:%Y-%m-%d %H:%M %Z}.")
        return post
    verb = "republished" if republish else "published"
    _record(task, by=by, decision=Decision.PUBLISHED, version=version, post=post,
            message=f"Version {version.number} {verb} by {by} at /posts/{post.slug}/.")
    return post


@transaction.atomic
def task_unpublish(*, task: GenerationTask, by, reason: str = "") -> Post:
    """Take the task's post off the blog (or cancel its scheduled publication); the post and its
    slug stay, to be published again later."""
    reason = clean_feedback(reason)
    task = locked_task(task)
    check_unpublish(by, task)
    return _unpublish(task, by=by, feedback=reason, why="")


def _unpublish(task, *, by, feedback: str, why: str) -> Post:
    post = Post.objects.select_for_update().get(task_id=task.pk)
    was = "scheduled post" if post.is_scheduled else "post"
    post.published_at = None
    post.live_recorded_at = None
    post.save(update_fields=["published_at", "live_recorded_at", "updated_at"])
    post_refresh_search_vector(post)
    _record(task, by=by, decision=Decision.UNPUBLISHED, version=post.version, post=post, feedback=feedback,
            message=f"The {was} /posts/{post.slug}/ was unpublished by {by}{why}.")
    return post


def unpublish_after_revoked_approval(sender, *, task, by, event, **kwargs) -> None:
    """`approval_revoked` receiver: a revoked approval takes the task's post off the blog."""
    post = Post.objects.filter(task_id=task.pk, published_at__isnull=False).first()
    if post is not None:
        _unpublish(task, by=by, feedback=event.feedback, why=" (approval revoked)")


approval_revoked.connect(unpublish_after_revoked_approval, dispatch_uid="publishing.unpublish_after_revoked")


def record_due_publications() -> int:
    """Record the going live of every scheduled post whose time has come, exactly once each.

    Returns how many were recorded. Safe to run at any time, from any number of workers at once.
    Due by the database's clock, as the blog shows posts (`Post.objects.published()`): a worker
    whose clock is ahead would otherwise announce a post before it is on the blog.
    """
    recorded = 0
    due = list(
        Post.objects.filter(published_at__lte=Now(), live_recorded_at__isnull=True)
        .values_list("pk", flat=True)[:500]
    )
    for post_id in due:
        with transaction.atomic():
            # The task row before the post row, as every publishing verb takes them: the other way
            # round, a verb on the same task at the same moment deadlocked with this sweep.
            task_id = Post.objects.filter(pk=post_id).values_list("task_id", flat=True).first()
            task = None
            if task_id is not None:
                task = GenerationTask.objects.select_for_update(skip_locked=True).filter(pk=task_id).first()
                if task is None:  # a verb holds it now; the next sweep looks again
                    continue
            post = (Post.objects.select_for_update(skip_locked=True)
                    .filter(pk=post_id, published_at__lte=Now(), live_recorded_at__isnull=True).first())
            if post is None:
                continue
            post.live_recorded_at = timezone.now()
            post.save(update_fields=["live_recorded_at", "updated_at"])
            if task is not None:
                scheduling = (ApprovalEvent.objects.filter(task_id=task.pk, decision=Decision.SCHEDULED)
                              .select_related("actor").order_by("-created_at").first())
                _record(task, by=scheduling.actor if scheduling else None, decision=Decision.PUBLISHED,
                        version=post.version, post=post,
                        feedback="Went live as scheduled.",
                        message=f"Scheduled post /posts/{post.slug}/ went live "
                                f"({post.published_at:%Y-%m-%d %H:%M %Z}).")
            else:
                PostChange.objects.create(post=post, post_title=post.title, kind=PostChangeKind.PUBLISHED,
                                          fields=["published_at"], published_at=post.published_at)
            recorded += 1
    return recorded


# --- hand-written posts (no task) ------------------------------------------------------------
PUBLICATION_FIELDS = {"published_at"}


def check_post_change(user, post: Post, *, changed: set[str], adding: bool) -> None:
    """A post made from a task changes only through the verbs above; publishing a hand-written
    post, or changing one that is public or scheduled (it goes live by itself), needs the publish
    permission; no post takes a reserved slug."""
    if post.task_id is not None and not adding:
        raise InvalidTransition(
            "This post was made from a generation task: it changes only through review and publishing "
            "(edit the task's draft, approve it, then republish)."
        )
    if post.slug in RESERVED_POST_SLUGS and (adding or "slug" in changed):
        raise DomainError(f"The address /posts/{post.slug}/ is reserved (the API's search lives there); choose "
                          "another slug.", fields={"slug": ["Reserved: choose another."]})
    if "published_at" in changed and post.published_at is not None and not publishable_time(post.published_at):
        raise DomainError(PUBLISH_RANGE_MESSAGE, fields={"published_at": [f"Out of range: {PUBLISH_RANGE}."]})
    # As stored, not as `post` has it now (the change may move or clear it). Public or scheduled
    # alike: a scheduled post goes live by itself, so changing it is publishing what no publisher saw.
    stored_at = None if adding else Post.objects.filter(pk=post.pk).values_list("published_at", flat=True).first()
    public_or_scheduled = stored_at is not None
    if (changed & PUBLICATION_FIELDS or public_or_scheduled) and changed and not user.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied(
            "Only holders of the publish permission may publish a post or change one that is public or scheduled."
        )


@transaction.atomic
def post_save_by_person(*, post: Post, by, changed: set[str], adding: bool, tags=None,
                        loaded_fingerprint: str | None = None) -> Post:
    """Save a hand-written post a person changed, and record the change; `tags`, the tags the
    person chose (saved after it, in the same transaction), are checked to exist with the category;
    `loaded_fingerprint`, the post's `edit_fingerprint` when the form was loaded, refuses a save
    that would silently undo someone else's (`check_edit_is_current`)."""
    if post.task_id is not None and adding:
        raise InvalidTransition("Posts of generation tasks are created by publishing the task.")
    # The name lock before the row (`config.locks`, PUBLIC_NAMES): a deletion of a category holds
    # it while it takes the rows of the posts naming the category.
    advisory_xact_lock(PUBLIC_NAMES)
    # The row first, then the rules: the form loaded the post earlier, and a publisher may have
    # published it since (or be publishing it now), which the rules and the save must see.
    stored = None if adding else (Post.objects.select_for_update().filter(pk=post.pk)
                                  .only("slug", "published_at", "live_recorded_at").first())
    if not adding and stored is None:
        raise NoLongerExists("This post was deleted meanwhile; nothing was saved.")
    if not adding:
        check_edit_is_current(Post, post.pk, loaded_fingerprint)
    check_post_change(by, post, changed=set(changed), adding=adding)
    _check_names_exist(post, tags)
    if stored is not None and "published_at" not in changed:  # the publication stays as stored
        post.published_at, post.live_recorded_at = stored.published_at, stored.live_recorded_at
    # Live or scheduled by the database's clock, which the blog shows posts by and the go-live
    # sweep records them on: a web process ahead recorded a post due in a minute as published.
    now = database_now()
    scheduled = post.published_at is not None and post.published_at > now
    if "published_at" in changed:
        post.live_recorded_at = now if post.published_at is not None and not scheduled else None
    if adding or "slug" in changed:  # a publication may be choosing this slug right now
        save_under_name_lock(post, DomainError(f"The address /posts/{post.slug}/ was taken meanwhile; nothing "
                                               "was saved.", fields={"slug": ["Taken meanwhile."]}))
        if stored is not None:
            slug_redirect_record(post, old_slug=stored.slug)
    else:
        post.save()
    post_refresh_search_vector(post)  # tags saved later (the admin's form) refresh it again
    if adding and post.published_at is None:
        kind = PostChangeKind.CREATED
    elif adding or "published_at" in changed:
        kind = (PostChangeKind.UNPUBLISHED if post.published_at is None
                else PostChangeKind.SCHEDULED if scheduled else PostChangeKind.PUBLISHED)
    else:
        kind = PostChangeKind.EDITED
    actor_kept(by)
    PostChange.objects.create(post=post, post_title=post.title, kind=kind, fields=sorted(changed),
                              published_at=post.published_at, actor=by)
    if scheduled:
        _schedule_record(post.published_at)
    return post


@transaction.atomic
def post_delete_by_person(*, post: Post, by) -> None:
    """Delete a hand-written post, judged as it is stored under its row lock: the page that asked
    loaded it earlier, and meanwhile a publisher may have put it on the blog (which an editor may
    not delete) or someone else deleted it (one deletion in the trail, not two)."""
    stored = Post.objects.select_for_update().filter(pk=post.pk).first()
    if stored is None:
        raise NoLongerExists("This post was deleted meanwhile; nothing was deleted again.")
    if stored.task_id is not None:
        raise InvalidTransition("A post made from a generation task is unpublished, not deleted.")
    # Scheduled as public: it goes live by itself, and changing it needs the permission too.
    if (stored.is_public or stored.is_scheduled) and not by.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied("Only holders of the publish permission may delete a public or scheduled post.")
    actor_kept(by)
    PostChange.objects.create(post=stored, post_title=stored.title, kind=PostChangeKind.DELETED, fields=[],
                              published_at=stored.published_at, actor=by)
    stored.delete()
