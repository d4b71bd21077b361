"""The oversight hub's history pages: content versions and the audit trail, both read-only.

Versions and approval events are append-only (in the ORM and in the database); the admin shows
them and offers no way to add, change or delete one, superusers included. Decisions are made
through the review services, not here. A user sees the history of the tasks they can see.
This module builds on `tasks.admin` (it adds the versions and audit inlines to the task page by
re-registering the task admin); `tasks` never imports `content`.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from content.html import render_markdown
from content.models import ApprovalEvent, ContentVersion
from tasks.admin import AppendOnlyAdminMixin, GenerationTaskAdmin, VisibleTaskRowsMixin
from tasks.models import GenerationTask

FEEDBACK_PREVIEW_CHARS = 80


@admin.register(ContentVersion)
class ContentVersionAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    list_display = (
        "task",
        "number",
        "phase",
        "title",
        "word_count",
        "quality_score",
        "model_key",
        "cost",
        "created_by",
        "created_at",
    )
    list_filter = ("phase", "model_key")
    search_fields = ("title", "task__topic")
    list_select_related = ("task", "created_by")
    ordering = ("-created_at",)
    readonly_fields = ("rendered_body", "markdown_body", "formatted_quality_report")
    fieldsets = (
        (None, {"fields": ("task", "number", "phase", "title", "excerpt")}),
        ("Body", {"fields": ("rendered_body", "markdown_body")}),
        ("Quality", {"fields": ("word_count", "quality_score", "formatted_quality_report")}),
        ("Cost", {"fields": ("model_key", "input_tokens", "output_tokens", "cost")}),
        ("Metadata", {"fields": ("id", "created_by", "created_at")}),
    )

    @admin.display(description="body")
    def rendered_body(self, version: ContentVersion) -> str:
        # render_markdown sanitizes: generated text is untrusted, its HTML is allowlisted.
        return mark_safe(render_markdown(version.body))

    @admin.display(description="body (Markdown)")
    def markdown_body(self, version: ContentVersion) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', version.body)

    @admin.display(description="quality report")
    def formatted_quality_report(self, version: ContentVersion) -> str:
        report = json.dumps(version.quality_report, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', report)


@admin.register(ApprovalEvent)
class ApprovalEventAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    list_display = ("created_at", "task", "version", "decision", "actor", "short_feedback", "reason_list")
    list_filter = ("decision", "created_at")
    search_fields = ("feedback", "task__topic", "actor__username")
    list_select_related = ("task", "version", "actor")
    date_hierarchy = "created_at"
    fields = ("created_at", "decision", "task", "version", "actor", "feedback", "reasons", "id")

    @admin.display(description="feedback")
    def short_feedback(self, event: ApprovalEvent) -> str:
        return Truncator(event.feedback).chars(FEEDBACK_PREVIEW_CHARS)

    @admin.display(description="reasons")
    def reason_list(self, event: ApprovalEvent) -> str:
        return ", ".join(event.reasons)


class ContentVersionInline(AppendOnlyAdminMixin, admin.TabularInline):
    model = ContentVersion
    fields = (
        "number", "phase", "title", "word_count", "quality_score", "model_key", "cost", "created_by", "created_at"
    )
    readonly_fields = fields
    ordering = ("number",)
    extra = 0
    can_delete = False
    show_change_link = True


class ApprovalEventInline(AppendOnlyAdminMixin, admin.TabularInline):
    model = ApprovalEvent
    verbose_name_plural = "audit trail"
    fields = ("created_at", "decision", "version", "actor", "feedback", "reasons")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    can_delete = False


class GenerationTaskWithHistoryAdmin(GenerationTaskAdmin):
    """The task page with its versions and its audit trail below the progress events."""

    inlines = [*GenerationTaskAdmin.inlines, ContentVersionInline, ApprovalEventInline]
    # Versions go with their task; audit rows protect it, so a task with decisions is not deletable.
    cascading_history = (*GenerationTaskAdmin.cascading_history, ContentVersion)


admin.site.unregister(GenerationTask)
admin.site.register(GenerationTask, GenerationTaskWithHistoryAdmin)
