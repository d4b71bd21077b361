"""The oversight hub's content pages: the article on the task page, the review verbs, versions,
their diff and the audit trail.

The task page (built in `tasks.admin`, re-registered here) leads with the current version as the
blog will show it, then one form per review verb the user may take now
(`content.selectors.review_actions`, which asks the same rules the verbs enforce), the quality
report, the versions with a side-by-side diff of any two and the audit trail. Each form calls a
verb of `content.services.review`; nothing here writes a row itself. Versions and approval events
are append-only: their own pages only show them. Imports flow one way: this module builds on
`tasks.admin`, `publishing.admin` builds on this one, and `tasks` never imports `content`.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Subquery
from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from content.formatting import toc_tree
from content.html import render_markdown, sanitize_html
from content.models import ApprovalEvent, ContentVersion, ReasonCode
from content.providers.base import stored_sources
from content.selectors import (
    audit_trail,
    awaiting_review,
    current_version,
    current_versions_first,
    review_actions,
    reviewable_phases,
    version_diff,
    version_to_compare,
)
from content.services.review import (
    four_eyes_note,
    task_approve,
    task_edit_draft,
    task_reject,
    task_restore_version,
    task_revoke_approval,
)
from tasks.admin import AppendOnlyAdminMixin, GenerationTaskAdmin, VisibleTaskRowsMixin
from tasks.admin_history import HISTORY_ROWS_SHOWN, TASK_PREVIEW_CHARS, rows_of_task_url
from tasks.admin_actions import RefusedAction, TaskAction
from tasks.forms import format_usd
from tasks.models import GenerationTask, ModelCatalogEntry
from tasks.models.task import WORD_COUNT_MAX, WORD_COUNT_MIN

FEEDBACK_PREVIEW_CHARS = 80
# What a row of the task page's versions does not show (its body is read: the default comparison
# looks for the newest earlier text that differs).
VERSION_ROW_DEFERRED = ("body_html", "excerpt", "seo", "sources", "quality_report")


# --- Rendering a version --------------------------------------------------------------------

def task_post_url(task_id) -> str:
    """The address of the task's post, "" for none, through the `PRESSROOM_TASK_POST_SUMMARIES` hook
    (`content` never imports `publishing`). A task's post keeps its address once it has one, so a
    later version's SEO slug is not where the post is."""
    hook = getattr(settings, "PRESSROOM_TASK_POST_SUMMARIES", "")
    summary = import_string(hook)([task_id]).get(task_id) if hook else None
    return summary["url"] if summary else ""


def render_article(version: ContentVersion, request=None) -> str:
    """The version as the blog shows it (sanitized HTML: generated text is untrusted)."""
    body_html = sanitize_html(version.body_html) if version.body_html else render_markdown(version.body)
    seo = version.seo or {}
    return render_to_string("admin/content/article_preview.html", {
        "version": version,
        "seo": seo,
        "post_url": task_post_url(version.task_id),
        "toc": toc_tree(seo.get("toc"), body_html),
        "body_html": mark_safe(body_html),  # noqa: S308 (sanitized just above)
        "body_has_title": "<h1" in body_html,
        # The format stage writes the numbered sources into the body; older versions list them apart.
        "body_lists_sources": ">Sources</h2>" in body_html,
        # Read from stored JSON, linked only to http(s) (a `javascript:` URL was printed as a link).
        "sources": stored_sources(version.sources),
    }, request=request)


def _points(value) -> str:
    value = round(float(value), 1)
    return str(int(value)) if value == int(value) else str(value)


def _check_row(check: dict) -> dict:
    """One check of the rubric as a row: a gate (no points, `leakage`) passes or fails, "0 / 0"
    said nothing; a row is marked only when it has findings to act on (a few tenths short of the
    maximum, with nothing to fix, read as an alarm)."""
    findings = check.get("findings") or []
    gate = not float(check.get("max_points", 0) or 0)
    return {
        "label": str(check.get("name", "")).replace("_", " ").capitalize(),
        "points": ("failed" if findings else "passed") if gate else _points(max(0.0, float(check.get("points", 0)))),
        "max_points": "gate" if gate else check.get("max_points", ""),
        "findings": findings,
        "short": bool(findings),
    }


def render_quality_report(report: dict) -> str:
    """The QA rubric as a table of checks (points, maximum, findings); other reports as facts."""
    report = report or {}
    checks = [_check_row(check) for check in report.get("checks") or [] if isinstance(check, dict)]
    facts = [(key.replace("_", " ").capitalize(), value) for key, value in report.items()
             if key != "checks" and not isinstance(value, (dict, list))]
    return render_to_string("admin/content/quality_report.html", {
        "checks": checks, "facts": facts, "score": report.get("score"), "word_count": report.get("word_count"),
        "word_range": report.get("word_range"), "critique": report.get("critique"),
    })


class ModelKeyFilter(admin.AllValuesFieldListFilter):
    """Versions by the model that wrote them. Versions no model wrote (research notes, a person's
    edit) have an empty key, which Django's filter lists as a link with no text at all."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] == "":
                choice = {**choice, "display": "No model (notes, edits)"}
            yield choice


@admin.register(ContentVersion)
class ContentVersionAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    # What a version is (its task, number, phase, model, writer) under its title, so the list
    # fits 1280 px beside the navigation and the filters.
    list_display = ("version_cell", "word_count", "quality_score", "cost_cell", "created_at")
    list_filter = ("phase", ("model_key", ModelKeyFilter), "is_outline")
    search_fields = ("title", "task__topic")
    list_select_related = ("task", "created_by")
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": ("task", "number", "phase", "title", "word_count", "quality_score", "model_key",
                           "is_outline")}),
        ("Cost", {"fields": ( "input_tokens", "output_tokens", "cost"), "classes": ("collapse",)}),
        ("Metadata", {"fields": ("id", "created_by", "created_at"), "classes": ("collapse",)}),
    )

    class Media:
        css = {"all": ("tasks/task-admin.css",)}

    @admin.display(description="version", ordering="title")
    def version_cell(self, version: ContentVersion):
        facts = [Truncator(str(version.task)).chars(TASK_PREVIEW_CHARS), f"v{version.number}",
                 version.get_phase_display(), version.model_key, "outline" if version.is_outline else "",
                 str(version.created_by or "pipeline")]
        return format_html('{}<span class="cell-note">{}</span>', version.title or "(untitled)",
                           " · ".join(fact for fact in facts if fact))

    @admin.display(description="cost", ordering="cost")
    def cost_cell(self, version: ContentVersion) -> str:
        return format_usd(version.cost)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if version is not None:
            # The article once, readable, above the record; its Markdown on demand inside it.
            extra["version_article"] = render_article(version, request)
            extra["version_quality"] = render_quality_report(version.quality_report)
        return super().change_view(request, object_id, form_url, extra)


@admin.register(ApprovalEvent)
class ApprovalEventAdmin(AppendOnlyAdminMixin, VisibleTaskRowsMixin, admin.ModelAdmin):
    list_display = ("created_at", "task_cell", "decision_cell", "feedback_cell")
    list_filter = ("decision", "created_at")
    search_fields = ("feedback", "task__topic", "actor__username")
    list_select_related = ("task", "version", "actor")
    date_hierarchy = "created_at"
    fields = ("created_at", "decision", "task", "version", "actor", "feedback", "reasons_named", "id")
    readonly_fields = ("reasons_named",)  # the rest is read-only too: the trail is append-only

    @admin.display(description="task", ordering="task__title")
    def task_cell(self, event: ApprovalEvent):
        version = f"version {event.version.number}" if event.version else "no version"
        return format_html('{}<span class="cell-note">{}</span>', Truncator(str(event.task)).chars(TASK_PREVIEW_CHARS),
                           version)

    @admin.display(description="decision", ordering="decision")
    def decision_cell(self, event: ApprovalEvent):
        return format_html('{}<span class="cell-note">by {}</span>', event.get_decision_display(),
                           event.actor or "the pipeline")

    @admin.display(description="reasons")
    def reasons_named(self, event: ApprovalEvent) -> str:
        return ", ".join(event.reason_labels()) or "—"

    @admin.display(description="feedback")
    def feedback_cell(self, event: ApprovalEvent):
        reasons = ", ".join(event.reason_labels())
        reasons = format_html('<span class="cell-note">{}</span>', reasons) if reasons else ""
        return format_html("{}{}", Truncator(event.feedback).chars(FEEDBACK_PREVIEW_CHARS) or "—", reasons)


# --- The review verbs' forms ----------------------------------------------------------------

class SeenVersionForm(forms.Form):
    """A decision names the version the reviewer read, so a newer one is never decided unseen.

    Shown again after a refusal, the form names the version on the page it is shown on (the
    current one), which the reviewer reads there. An edit's `base_version` stays as posted: the
    text typed was based on it, and saving it over a newer version would silently drop that one.
    """

    page_state_fields = ("seen_version",)
    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, version: ContentVersion | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_version"].initial = version.number if version is not None else None


class ApproveForm(SeenVersionForm):
    feedback = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note with the approval",
                               help_text="Optional note for the writer and the audit trail.")


class RevokeForm(forms.Form):
    feedback = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Why it is revoked",
                               help_text="A published post is taken down.")


class RejectForm(SeenVersionForm):
    feedback = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why it is rejected",
                               help_text="What is wrong; with a revision, the writer's instructions.")
    reasons = forms.MultipleChoiceField(choices=ReasonCode.choices, widget=forms.CheckboxSelectMultiple)
    revise = forms.BooleanField(required=False, label="Request a revision",
                                help_text="The writer drafts it again with this feedback.")
    target_words = forms.IntegerField(required=False, min_value=WORD_COUNT_MIN, max_value=WORD_COUNT_MAX,
                                      help_text="Optional length for the revision.")


class EditForm(forms.Form):
    title = forms.CharField(max_length=300)
    excerpt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    body = forms.CharField(label="Body (Markdown)", widget=forms.Textarea(attrs={"rows": 20}))
    base_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, version: ContentVersion, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].initial = version.title
        self.fields["excerpt"].initial = version.excerpt
        self.fields["body"].initial = version.body
        self.fields["base_version"].initial = version.number


class RestoreForm(forms.Form):
    number = forms.TypedChoiceField(coerce=int, label="Version")

    def __init__(self, *args, task: GenerationTask, current: ContentVersion | None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only whole pieces, as the restore service allows (drafts and QA rounds are steps).
        versions = task.versions.filter(phase__in=reviewable_phases(task)).order_by("-number")
        if current is not None:
            versions = versions.exclude(pk=current.pk)
        # The newest ones; an older one is restored from the API (`POST …/versions/{n}/restore`).
        versions = versions.only("task_id", "number", "phase", "title")[:HISTORY_ROWS_SHOWN]
        self.fields["number"].choices = [
            (v.number, f"{v.number} · {v.get_phase_display()} · {Truncator(v.title).chars(40)}") for v in versions
        ]


def _approve(request, task, data) -> str:
    task_approve(task=task, by=request.user, feedback=data["feedback"], seen_version=data["seen_version"])
    return "Approved."


def _reject(request, task, data) -> str:
    task_reject(task=task, by=request.user, feedback=data["feedback"], reasons=data["reasons"],
                revise=data["revise"], target_words=data["target_words"], seen_version=data["seen_version"])
    return "Rejected; the writer is revising it." if data["revise"] else "Rejected."


def _revoke(request, task, data) -> str:
    task_revoke_approval(task=task, by=request.user, feedback=data["feedback"])
    return "Approval revoked."


def _edit(request, task, data) -> str:
    version = task_edit_draft(task=task, by=request.user, title=data["title"], body=data["body"],
                              excerpt=data["excerpt"], base_version=data["base_version"])
    return f"Saved as version {version.number}; it waits for a review."


def _restore(request, task, data) -> str:
    version = task_restore_version(task=task, by=request.user, number=data["number"])
    return f"Version {data['number']} restored as version {version.number}; it waits for a review."


class GenerationTaskWithHistoryAdmin(GenerationTaskAdmin):
    """The task page with the article, the review verbs, quality, versions and the audit trail."""

    list_display = (*GenerationTaskAdmin.list_display[:3], "quality_cell", "words_cell",
                    *GenerationTaskAdmin.list_display[3:])
    # Versions go with their task; audit rows protect it, so a task with decisions is not deletable.
    cascading_history = (*GenerationTaskAdmin.cascading_history, ContentVersion)

    def get_queryset(self, request):
        """Each row with the quality score and word count of its current version (one query)."""
        current = current_versions_first()
        return super().get_queryset(request).annotate(
            current_quality=Subquery(current.values("quality_score")[:1]),
            current_words=Subquery(current.values("word_count")[:1]),
        )

    @admin.display(description="quality", ordering="current_quality")
    def quality_cell(self, task: GenerationTask) -> str:
        value = getattr(task, "current_quality", None)
        return "—" if value is None else str(value)

    @admin.display(description="words", ordering="current_words")
    def words_cell(self, task: GenerationTask) -> str:
        value = getattr(task, "current_words", None)
        return "—" if not value else f"{value:,}"

    def has_delete_permission(self, request, obj=None):
        # A task with editorial decisions keeps its audit trail: no Delete button to be refused.
        if obj is not None and ApprovalEvent.objects.filter(task_id=obj.pk).exists():
            return False
        return super().has_delete_permission(request, obj)

    def task_actions(self, request, task: GenerationTask) -> list[TaskAction]:
        allowed = set(review_actions(request.user, task))
        version = current_version(task) if allowed else None
        actions = []
        if "approve" in allowed:
            actions.append(TaskAction("approve", "Approve", _approve, ApproveForm, {"version": version}, panel="review",
                                      style="primary"))
        if "reject" in allowed:
            actions.append(TaskAction("reject", "Reject", _reject, RejectForm, {"version": version}, panel="review",
                                      style="danger"))
        if "revoke_approval" in allowed:
            actions.append(TaskAction("revoke_approval", "Revoke approval", _revoke, RevokeForm, panel="review",
                                      style="danger"))
        if "edit" in allowed and version is not None:
            actions.append(TaskAction("edit", "Edit the text", _edit, EditForm, {"version": version}, panel="review",
                                      collapsed=True, description="Saved as a new version, scored, and reviewed again."))
        if "restore" in allowed:
            restore = TaskAction("restore", "Restore a version", _restore, RestoreForm,
                                 {"task": task, "current": version}, panel="review", collapsed=True,
                                 description="A copy of an earlier version becomes the current one.")
            if restore.form().fields["number"].choices:
                actions.append(restore)
        return actions + super().task_actions(request, task)

    def task_panel_notes(self, request, task: GenerationTask) -> dict[str, str]:
        """The four-eyes rule, when it is what keeps Approve and Reject off the Review panel."""
        notes = super().task_panel_notes(request, task)
        note = four_eyes_note(request.user, task)
        return {**notes, "review": note} if note else notes

    def review_queue(self, request, queryset):
        """Only the tasks the viewer may decide, as the dashboard's "Awaiting your review"."""
        return awaiting_review(request.user, queryset)

    def task_page_sections(self, request, task: GenerationTask, refused: RefusedAction | None = None, *,
                           live: dict | None = None) -> list[tuple[str, str]]:
        version = current_version(task)
        # The newest HISTORY_ROWS_SHOWN versions and decisions, oldest first, with a link to all of
        # them: a task of 1,000 versions read every body for its page.
        versions_total = task.versions.count()
        versions = list(reversed(task.versions.select_related("created_by").defer(*VERSION_ROW_DEFERRED)
                                 .order_by("-number")[:HISTORY_ROWS_SHOWN]))
        model_names = dict(ModelCatalogEntry.objects.values_list("key", "display_name"))  # a few rows
        for v in [*versions, *([version] if version is not None else [])]:
            v.cost_label = format_usd(v.cost)
            v.model_name = model_names.get(v.model_key, v.model_key)  # "Offline writer (built in)", not "offline"

        def section(name: str, **context) -> tuple[str, str]:
            return name, render_to_string("admin/content/task_sections.html",
                                          {"section": name, "task": task, **context}, request=request)

        article = render_article(version, request) if version is not None else ""
        compared = version_to_compare(task, versions, version) if version is not None else None
        sections = [section("article", version=version, article=mark_safe(article))]  # noqa: S308 (rendered above)
        sections += super().task_page_sections(request, task, refused, live=live)
        if version is not None:
            sections.append(section("quality", quality=mark_safe(render_quality_report(version.quality_report))))  # noqa: S308
        sections.append(section(
            "versions", versions=versions, diff_url=self._url(task, "diff"),
            compare_a=compared.number if compared else None, compare_b=version.number if version else None,
            total=versions_total,
            all_url=rows_of_task_url(ContentVersion, task),
        ))
        trail = audit_trail(task)
        events = list(reversed(trail.reverse()[:HISTORY_ROWS_SHOWN]))
        sections.append(section(
            "audit", events=events, total=trail.count() if len(events) == HISTORY_ROWS_SHOWN else len(events),
            all_url=rows_of_task_url(ApprovalEvent, task),
        ))
        return sections

    def _url(self, task, name: str) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[task.pk],
                       current_app=self.admin_site.name)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/diff/", self.admin_site.admin_view(self.diff_view), name="%s_%s_diff" % info),
            *super().get_urls(),
        ]

    def diff_view(self, request, object_id):
        """Two versions side by side (`?a=1&b=3`; by default the newest and the one it is best
        compared with, `version_to_compare`)."""
        task = self.get_object(request, object_id)
        if task is None:
            raise Http404("No such task.")
        versions = list(task.versions.order_by("number"))
        if not versions:
            raise Http404("This task has no versions yet.")
        by_number = {v.number: v for v in versions}

        def chosen(name: str, default: ContentVersion) -> ContentVersion:
            try:
                return by_number[int(request.GET.get(name, ""))]
            except (KeyError, ValueError):
                return default

        b = chosen("b", versions[-1])
        a = chosen("a", version_to_compare(task, versions, b) or b)
        rows, left_no, right_no = [], 0, 0
        for row in version_diff(a, b):
            left_no += row["kind"] != "insert"
            right_no += row["kind"] != "delete"
            rows.append({**row, "left_no": left_no if row["kind"] != "insert" else None,
                         "right_no": right_no if row["kind"] != "delete" else None})
        return TemplateResponse(request, "admin/content/version_diff.html", {
            **self.admin_site.each_context(request),
            "title": f"Versions {a.number} and {b.number} of “{Truncator(str(task)).chars(60)}”",
            "opts": self.opts, "task": task, "task_url": self._url(task, "change"), "versions": versions,
            "a": a, "b": b, "rows": rows, "changed": sum(row["kind"] != "equal" for row in rows),
        })


admin.site.unregister(GenerationTask)
admin.site.register(GenerationTask, GenerationTaskWithHistoryAdmin)
