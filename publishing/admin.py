"""The oversight hub's blog pages: posts, categories and tags.

Editors write and edit hand-written drafts; only holders of `publishing.publish_post`
(Reviewers) may set, move or clear `published_at` or change a public post, so for everyone else
that field is read-only and such a change is refused (`publishing.services.posts`, which also
records every change in `PostChange`). Posts made from a task are read-only here: they change
through the publishing verbs on the task's page. `body_html` is derived and only ever shown. Imports flow
publishing -> content -> tasks.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from config.admin_names import NamePicker, NamePickerAdminMixin
from config.admin_site import ShortRelatedFilter
from content.html import sanitize_html
from publishing.models import Category, Post, PostChange, SlugRedirect, Tag
from publishing.selectors import carried_versions
from publishing.services.posts import (
    check_post_change, post_delete_by_person, post_save_by_person, public_name_save_by_person,
    public_names_delete_by_person,
)
from publishing.services.edit_conflicts import EditConflict, check_edit_is_current, edit_fingerprint
from tasks.exceptions import DomainError, NoLongerExists

PUBLISH_PERMISSION = "publishing.publish_post"
POST_TAGS_MAX = 50  # tags a post's form may give it (a 1,000-tag submission is a form error)


class LoadedFingerprintField(forms.Field):
    """What an edit form was loaded with (`edit_fingerprint`). A plain Field: a value that is no
    fingerprint (NUL included) is not judged, never a form error; and never a change of the row, so
    it is neither in the form's changed fields nor in the row's trail."""

    def has_changed(self, initial, data) -> bool:
        return False


class EditConflictForm(forms.ModelForm):
    """A form of a post, category or tag that carries the `edit_fingerprint` of the row it was
    loaded with: a save after someone else's is refused with a warning (a form error, so what was
    typed stays on the page), and the form shown again carries the row as it is now, so saving
    again overwrites on purpose. The saving service judges it again under the row lock."""

    # What the form was loaded with; the hidden field is its only copy.
    loaded_fingerprint = LoadedFingerprintField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read for the page only: a form posted back carries its own, judged under the row lock.
        if not self.is_bound and self.instance.pk is not None and not self.instance._state.adding:
            self.initial["loaded_fingerprint"] = edit_fingerprint(type(self.instance), self.instance.pk) or ""

    def _post_clean(self):
        super()._post_clean()  # the form's values onto the instance, and the model's own checks
        if not self.errors and not self.instance._state.adding:
            self._someone_else_saved_meanwhile()

    def _someone_else_saved_meanwhile(self) -> None:
        """Refuse this save (a form error) when the row changed since the form was loaded; the
        form shown again carries the row's fingerprint as it is now, so that saving again is a
        choice to overwrite."""
        model = type(self.instance)
        try:
            check_edit_is_current(model, self.instance.pk, self.cleaned_data.get("loaded_fingerprint"))
        except EditConflict as conflict:
            self.add_error(None, str(conflict))
            self.data = self.data.copy()
            self.data[self.add_prefix("loaded_fingerprint")] = edit_fingerprint(model, self.instance.pk) or ""


class PublicNameAdminMixin:
    """Categories and tags are also created by publications (`publishing.services.posts`): a save
    or deletion here takes turns with them (`public_name_save_by_person`,
    `public_names_delete_by_person`), a name a publication created after this form was checked is
    a message, not a 500, and a changed slug leaves a redirect."""

    form = EditConflictForm  # a save after someone else's is refused, as a post's is
    row_locked_by_service = True  # after the name lock (`config.admin_site.SiteRulesMixin.save_model`)

    def save_model(self, request, obj, form, change):
        public_name_save_by_person(obj, changed=set(form.changed_data), adding=not change,
                                   loaded_fingerprint=form.cleaned_data.get("loaded_fingerprint"))

    def delete_model(self, request, obj):
        if not public_names_delete_by_person(type(obj), [obj.pk]):
            raise NoLongerExists(f"This {obj._meta.verbose_name} was deleted meanwhile.")

    def delete_queryset(self, request, queryset):
        public_names_delete_by_person(queryset.model, queryset.values_list("pk", flat=True))


@admin.register(Category)
class CategoryAdmin(PublicNameAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(PublicNameAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


class LabelledSplitDateTime(AdminSplitDateTime):
    """Django's date and time boxes, each with a name a screen reader reads: the field's label
    points at neither (a label can name one box), so both were unlabelled form fields."""

    def __init__(self, name: str, attrs=None):
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = f"{name}: date"
        self.widgets[1].attrs["aria-label"] = f"{name}: time"


class PostForm(EditConflictForm):
    """Asks the publishing rules before anything is saved, so a refusal is a form error and what
    was typed stays on the page.

    The rules judge the post as it would be saved, so they are asked once the form's values are
    on the instance (`_post_clean`): asked in `clean()`, they saw the post as it was, a
    publication time out of range or a reserved slug passed, the save refused it, and the admin
    sent the user to an empty form. A save after someone else's is refused first (`EditConflictForm`).
    """

    request = None  # set by PostAdmin.get_form
    image_credit_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = Post
        fields = "__all__"
        widgets = {"published_at": LabelledSplitDateTime("Published at")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tags = self.fields.get("tags")
        if tags is not None and self.instance.pk is not None and self.is_bound:  # the limit counts only at a save
            # A post given more than POST_TAGS_MAX tags before the form had a limit keeps them
            # through an edit of anything else; it may not be given more.
            tags.most = max(tags.most, self.instance.tags.count())

    def _post_clean(self):
        super()._post_clean()  # the form's values onto the instance, the model's checks, the edit conflict
        if self.errors:
            return
        try:
            check_post_change(self.request.user, self.instance, changed=set(self.changed_data),
                              adding=self.instance._state.adding)
        except DomainError as error:
            self.add_error(None, str(error))
            for name, messages in error.fields.items():
                if name in self.fields:
                    self.add_error(name, messages)


@admin.register(Post)
class PostAdmin(NamePickerAdminMixin, admin.ModelAdmin):
    """Hand-written posts are written here; posts made from a task are shown read-only (they change
    only through the review and publishing verbs, on the task's page)."""

    form = PostForm
    list_display = ("title_cell", "category", "origin", "published_at", "is_public")  # edits: Post changes
    # 5,000 categories and tags made the list 1.2 MB: its filters name a short list, and its
    # search looks in their names.
    list_filter = (("category", ShortRelatedFilter), ("tags", ShortRelatedFilter), "published_at")
    search_fields = ("title", "body", "category__name", "tags__name")
    list_select_related = ("category", "task")
    prepopulated_fields = {"slug": ("title",)}
    # ...and the form listed every one of them (850 kB): the category and the tags are typed by
    # name, the names that match offered as one types (`config.admin_names`).
    name_pickers = {"category": NamePicker(Category), "tags": NamePicker(Tag, most=POST_TAGS_MAX)}
    readonly_fields = ("preview", "body_html", "task", "version", "carried", "created_at", "updated_at",
                       "live_recorded_at")
    fieldsets = (
        (None, {"fields": ("title", "slug", "category", "tags", "excerpt", "featured_image", "image_alt",
                           "image_credit", "image_credit_url", "loaded_fingerprint")}),
        ("Body", {"fields": ("body", "preview")}),
        ("Sanitized HTML", {"fields": ("body_html",), "classes": ("collapse",)}),
        ("Publishing", {"fields": ("published_at", "live_recorded_at")}),
        ("Source", {"fields": ("task", "version", "carried")}),
        ("Metadata", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    class Media:
        css = {"all": ("tasks/task-admin.css",)}  # the preview's article styles (.article-preview)

    @admin.display(description="title", ordering="title")
    def title_cell(self, post: Post):
        return format_html('{}<span class="cell-note">{}</span>', post.title, post.get_absolute_url())

    @admin.display(description="public", boolean=True)
    def is_public(self, post: Post) -> bool:
        return post.is_public

    @admin.display(description="origin")
    def origin(self, post: Post) -> str:
        return "generation task" if post.task_id else "hand-written"

    @admin.display(description="versions carried")
    def carried(self, post: Post) -> str:
        rows = carried_versions(post)
        if not rows:
            return "—"
        return ", ".join(
            f"v{row['number']} ({row['at']:%Y-%m-%d %H:%M}{', ' + row['by'].get_username() if row['by'] else ''})"
            for row in rows
        )

    @admin.display(description="preview")
    def preview(self, post: Post) -> str:
        # Sanitized again at display time: the stored HTML is trusted only as far as the allowlist.
        # In the article preview's box (tasks/task-admin.css): its headings are the article's, not
        # the admin's blue section bars.
        return format_html('<div class="article-preview">{}</div>', mark_safe(sanitize_html(post.body_html)))  # noqa: S308

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(PUBLISH_PERMISSION):
            readonly += ("published_at",)
        return readonly

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.task_id is not None:
            return False  # read-only: the task's page publishes, republishes and unpublishes it
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.task_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    row_locked_by_service = True  # after the name lock (`config.admin_site.SiteRulesMixin.save_model`)

    def save_model(self, request, obj, form, change):
        post_save_by_person(post=obj, by=request.user, changed=set(form.changed_data), adding=not change,
                            tags=form.cleaned_data.get("tags"),
                            loaded_fingerprint=form.cleaned_data.get("loaded_fingerprint"))

    def delete_model(self, request, obj):
        post_delete_by_person(post=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for post in queryset:
            post_delete_by_person(post=post, by=request.user)


@admin.register(PostChange)
class PostChangeAdmin(admin.ModelAdmin):
    """The audit trail of hand-written posts: read-only, append-only."""

    list_display = ("created_at", "post_title", "kind", "actor", "published_at")
    list_filter = ("kind", "created_at")
    search_fields = ("post_title", "actor__username")
    list_select_related = ("actor",)
    fields = ("created_at", "kind", "post", "post_title", "fields", "published_at", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SlugRedirect)
class SlugRedirectAdmin(admin.ModelAdmin):
    """The old addresses that redirect to a post, category or tag, made when a person changed its
    slug. Read-only; deleting one lets its address answer 404 again."""

    list_display = ("slug", "target", "created_at")
    search_fields = ("slug",)
    list_select_related = ("post", "category", "tag")
    fields = ("slug", "post", "category", "tag", "created_at")

    @admin.display(description="now at")
    def target(self, redirect: SlugRedirect) -> str:
        if redirect.post_id:
            return f"post /posts/{redirect.post.slug}/"
        if redirect.category_id:
            return f"category /category/{redirect.category.slug}/"
        return f"tag /tag/{redirect.tag.slug}/"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The task page, with the publishing verbs and the blog vocabulary, re-registered last.
from publishing import admin_task_page  # noqa: E402,F401
# Webhook subscriptions and their delivery attempts.
from publishing.webhooks import admin as webhooks_admin  # noqa: E402,F401
