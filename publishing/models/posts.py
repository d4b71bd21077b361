"""Posts of the public blog, with their categories and tags.

A post is public only when `published_at` is set and not in the future; a post with no
`published_at` is a draft, one with a future `published_at` is scheduled. `body_html` is the
sanitized rendering of `body`: templates print it as is, so nothing else may write it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse
from django.utils import timezone

from content.html import render_markdown


class Category(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False, published_at__lte=timezone.now())


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
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField("body (Markdown)", blank=True)
    body_html = models.TextField("body (sanitized HTML)", blank=True, editable=False)
    excerpt = models.TextField(blank=True)
    featured_image = models.ImageField(upload_to="posts/%Y/%m/", blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    published_at = models.DateTimeField(null=True, blank=True, help_text="Empty: draft. In the future: scheduled.")
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
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # body_html is derived, never edited: it is always the sanitized rendering of body.
        self.body_html = render_markdown(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("publishing:post_detail", kwargs={"slug": self.slug})

    @property
    def is_public(self) -> bool:
        return self.published_at is not None and self.published_at <= timezone.now()
