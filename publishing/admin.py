"""The oversight hub's blog pages: posts, categories and tags.

Editors write and edit drafts; only holders of `publishing.publish_post` (Reviewers) may set,
move or clear `published_at`, so for everyone else that field is read-only and a posted value
is ignored. `body_html` is derived from `body` on save and is only ever shown. Imports flow
publishing -> content -> tasks.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import mark_safe

from content.html import sanitize_html
from publishing.models import Category, Post, Tag

PUBLISH_PERMISSION = "publishing.publish_post"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "category", "published_at", "is_public", "updated_at")
    list_filter = ("category", "tags", "published_at")
    search_fields = ("title", "body")
    list_select_related = ("category",)
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("tags",)
    autocomplete_fields = ("task",)
    raw_id_fields = ("version",)
    readonly_fields = ("preview", "body_html", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "slug", "category", "tags", "excerpt", "featured_image")}),
        ("Body", {"fields": ("body", "preview")}),
        ("Sanitized HTML", {"fields": ("body_html",), "classes": ("collapse",)}),
        ("Publishing", {"fields": ("published_at",)}),
        ("Source", {"fields": ("task", "version")}),
        ("Metadata", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description="public", boolean=True)
    def is_public(self, post: Post) -> bool:
        return post.is_public

    @admin.display(description="preview")
    def preview(self, post: Post) -> str:
        # Sanitized again at display time: the stored HTML is trusted only as far as the allowlist.
        return mark_safe(sanitize_html(post.body_html))

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(PUBLISH_PERMISSION):
            readonly += ("published_at",)
        return readonly
