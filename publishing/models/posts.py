"""Posts of the public blog, with their categories and tags.

A post is public only when `published_at` is set and not in the future; a post with no
`published_at` is a draft, one with a future `published_at` is scheduled. `body_html` is the
sanitized rendering of `body` (for a post made from a task, the sanitized HTML of the version it
carries): templates print it as is, so nothing else may write it. `body_text`, the body's readable
text that search snippets are cut from, is derived with it.

A post made from a task changes only through the publishing verbs (`publishing.services.posts`),
which copy an approved version into it; its history is the task's audit trail. A hand-written
post's changes are recorded in `PostChange`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Now, Upper
from django.urls import reverse
from django.utils import timezone

from content.citations import without_sources_section as without_sources_section_markdown
from content.html import (
    headings_off_the_sources_ids,
    render_markdown,
    sanitize_html,
    without_citations_except,
    without_leading_h1,
    without_sources_section,
)
from content.providers.base import stored_sources
from content.textstats import text_blocks
from tasks.models import AppendOnlyModel
from tasks.validators import validate_shown_line


def unique_name_whatever_its_case(noun: str, *, name: str) -> models.UniqueConstraint:
    """One category (or tag) per name, whatever its letter case: "Gardening" and "gardening" are one
    category on the blog, and publications find theirs by `name__iexact`.

    `Upper`, not `Lower`, because `name__iexact` compares `UPPER()`s on PostgreSQL: the lookups and
    the guard then agree on every script (Greek "ΟΔΟΣ" and "οδος" are equal in upper case only),
    and the constraint's index serves the lookups. Django fills in only the constraint's own name
    into `violation_error_message`, so the message cannot quote the name that is taken."""
    return models.UniqueConstraint(
        Upper("name"), name=name,
        violation_error_message=f"A {noun} with this name already exists: names that differ only in letter "
                                f"case (“Gardening”, “gardening”) are the same {noun}.",
    )


class Category(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One line pages show, as a brief's category is (`validate_shown_line`): "Garden\u202eing" in
    # the admin showed readers another name than the one the list holds.
    name = models.CharField(max_length=100, validators=[validate_shown_line])
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [unique_name_whatever_its_case("category", name="category_name_unique_any_case")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=50, validators=[validate_shown_line])  # as a category's
    slug = models.SlugField(max_length=50, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        constraints = [unique_name_whatever_its_case("tag", name="tag_name_unique_any_case")]

    def __str__(self) -> str:
        return self.name


def derive_body_html(*, body: str, formatted: str = "", sources=()) -> str:
    """What a post prints as its body: the sanitized rendering of `body`, or of the version's
    formatted HTML (heading anchors, linked citations) for a post made from a task.

    The page heading is the post's title, so a leading `<h1>` (the body's own `# Title`) goes; the
    format stage's Sources list goes too, since the page lists the post's public sources itself
    (`Post.sources`, from which the editor's private notes are removed), and citation links keep
    only the sources listed there; its anchors (`#sources`, `#source-n`) are the page's list's, so
    a heading that holds one in a version formatted before they were kept for it moves to
    `#sources-2` (`headings_off_the_sources_ids`). Derived here, at save time, so the page, the
    feeds and the API print the same body.
    """
    if formatted:
        numbers = {source.number for source in stored_sources(sources)}
        html = without_sources_section(without_leading_h1(sanitize_html(formatted)))
        return without_citations_except(headings_off_the_sources_ids(html), numbers)
    return without_leading_h1(render_markdown(body))


# A heading ending with none of these gets a full stop in `body_text`.
_SENTENCE_ENDS = (".", "!", "?", ":", ";", "…")


def derive_body_text(body: str, *, formatted: str = "") -> str:
    """The readable text of `body`, which the search vector is built and search snippets are cut
    from: its blocks of text as `content.textstats` reads them (the one rule for a Markdown
    document's text: no code, markup, tables' pipes, raw HTML tags, images, URLs or citations),
    each on one line, a blank line between blocks. For a post made from a task (`formatted`, as
    for `derive_body_html`) the format stage's Sources section goes, as it goes from the page (the
    page lists the public sources itself; the section may name the editor's private notes); a
    hand-written post's own "Sources" heading is text the page shows, and stays.

    A snippet shows the title already, so a leading `# Title` goes, as it goes from `body_html`;
    a heading without punctuation ends with a full stop, so that a snippet does not run it into
    the sentence after it ("Lids Barrels need a tight lid" reads "Lids. Barrels need a tight lid").
    Derived in Python at save time: regular expressions over the Markdown in SQL left its syntax
    in snippets.
    """
    blocks = list(text_blocks(without_sources_section_markdown(body) if formatted else body or ""))
    if blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        blocks = blocks[1:]
    texts = []
    for block in blocks:
        text = " ".join(block.text.split())
        if block.kind == "heading" and not text.endswith(_SENTENCE_ENDS):
            text += "."
        texts.append(text)
    return "\n\n".join(texts)


class PostQuerySet(models.QuerySet):
    def published(self):
        """Posts whose publication time has come by the database server's clock (`Now()`), the one
        clock every web process and worker shares: a process whose own clock is ahead does not
        show a scheduled post early, and the blog agrees with the worker recording its going live."""
        return self.filter(published_at__isnull=False, published_at__lte=Now())


class Post(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(
        "tasks.GenerationTask", null=True, blank=True, on_delete=models.PROTECT, related_name="posts",
        help_text="The generation task this post came from; empty for hand-written posts.",
    )
    version = models.ForeignKey(
        "content.ContentVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="posts",
        help_text="The content version that was published.",
    )
    # One line pages show, as a brief's title (a generated one comes without them: `split_title`).
    title = models.CharField(max_length=300, validators=[validate_shown_line])
    slug = models.SlugField(max_length=200, unique=True, allow_unicode=True)
    body = models.TextField("body (Markdown)", blank=True)
    body_html = models.TextField("body (sanitized HTML)", blank=True, editable=False)
    body_text = models.TextField(
        "body (readable text)", blank=True, editable=False, default="",
        db_default="",  # a process still on the release before this column inserts posts without it
        help_text="The body's readable text, for search snippets (see derive_body_text).",
    )
    excerpt = models.TextField(blank=True)
    featured_image = models.ImageField(upload_to="posts/%Y/%m/", blank=True)
    thumbnail = models.ImageField(upload_to="posts/%Y/%m/thumbnails/", blank=True)
    image_alt = models.CharField(max_length=300, blank=True)
    image_credit = models.CharField(max_length=300, blank=True)
    image_credit_url = models.URLField(max_length=500, blank=True)
    seo = models.JSONField(
        default=dict, blank=True, help_text="SEO title, meta description, reading time, table of contents."
    )
    sources = models.JSONField(default=list, blank=True, help_text="The numbered public sources the post cites.")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    published_at = models.DateTimeField(null=True, blank=True, help_text="Empty: draft. In the future: scheduled.")
    live_recorded_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the post's going live was recorded (once per publication, also for a scheduled one).",
    )
    # Title (A), excerpt and tags (B), body (C); kept current by `publishing.search`.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    # Title (A), excerpt and tags (B) only: small, kept in the row, cheap to rank for common words.
    search_head = SearchVectorField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        permissions = [("publish_post", "Can publish, schedule and unpublish posts")]
        indexes = [
            models.Index(
                models.F("published_at").desc(),
                name="post_published",
                condition=models.Q(published_at__isnull=False),
            ),
            # The scheduler: publications whose going live is not yet recorded.
            models.Index(
                fields=["published_at"], name="post_live_unrecorded",
                condition=models.Q(published_at__isnull=False, live_recorded_at__isnull=True),
            ),
            GinIndex(fields=["search_vector"], name="post_search_vector"),
            GinIndex(fields=["search_head"], name="post_search_head"),
            # post_title_trgm (pg_trgm, for title suggestions) is created by migration 0005 only
            # where the server has the extension.
        ]
        constraints = [
            models.UniqueConstraint(fields=["task"], condition=models.Q(task__isnull=False), name="post_one_per_task"),
            # A task's post is a copy of one of its versions; a hand-written post has neither.
            models.CheckConstraint(condition=models.Q(task__isnull=True) | models.Q(version__isnull=False),
                                   name="post_of_a_task_names_its_version"),
            # Going live is recorded only for a post that has a publication time.
            models.CheckConstraint(condition=models.Q(live_recorded_at__isnull=True) | models.Q(published_at__isnull=False),
                                   name="post_live_recorded_only_when_published"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # body_html and body_text are derived, never edited (see derive_body_html, derive_body_text).
        formatted = self.version.body_html if self.version_id and self.version.body_html else ""
        self.body_html = derive_body_html(body=self.body, formatted=formatted, sources=self.sources)
        self.body_text = derive_body_text(self.body, formatted=formatted)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html", "body_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("publishing:post_detail", kwargs={"slug": self.slug})

    @property
    def is_public(self) -> bool:
        return self.published_at is not None and self.published_at <= timezone.now()

    @property
    def is_scheduled(self) -> bool:
        return self.published_at is not None and self.published_at > timezone.now()


class SlugRedirect(models.Model):
    """An address a post, category or tag had before a person changed its slug: the blog answers
    it with a permanent redirect to where the page is now, so links already shared keep working.

    Exactly one target. A page that has the slug now always wins: a redirect is asked only when no
    page has it, and a slug a page takes again stops redirecting (`slug_redirect_record`).
    """

    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="old_slugs")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="old_slugs")
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="old_slugs")
    slug = models.SlugField(max_length=200, allow_unicode=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(post__isnull=False, category__isnull=True, tag__isnull=True)
                           | models.Q(post__isnull=True, category__isnull=False, tag__isnull=True)
                           | models.Q(post__isnull=True, category__isnull=True, tag__isnull=False)),
                name="slug_redirect_one_target",
            ),
            # One target per old address of each kind of page.
            *(models.UniqueConstraint(fields=["slug"], condition=models.Q(**{f"{kind}__isnull": False}),
                                      name=f"slug_redirect_{kind}_unique")
              for kind in ("post", "category", "tag")),
        ]

    def __str__(self) -> str:
        return self.slug


class PostChangeKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    PUBLISHED = "published", "Published"
    SCHEDULED = "scheduled", "Scheduled"
    UNPUBLISHED = "unpublished", "Unpublished"
    DELETED = "deleted", "Deleted"


class PostChange(AppendOnlyModel):
    """The audit trail of hand-written posts: who changed or published what, and when.

    Posts made from a task are audited in the task's trail (`content.ApprovalEvent`).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database constraint: the trail outlives a deleted post (its id and title stay readable).
    post = models.ForeignKey(
        Post, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="changes"
    )
    post_title = models.CharField(max_length=300, help_text="The title when the change was made.")
    kind = models.CharField(max_length=16, choices=PostChangeKind.choices)
    fields = models.JSONField(default=list, blank=True, help_text="The fields that changed.")
    published_at = models.DateTimeField(null=True, blank=True, help_text="The publication time after the change.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="post_changes"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "post change"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=PostChangeKind.values), name="post_change_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.post_title}"
