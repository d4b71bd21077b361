"""The task page's publishing part: publish now, schedule, unpublish, and the blog's vocabulary.

The last layer of the task admin (tasks.admin → content.admin → here): it re-registers the task
page once more, adding one form per publishing verb the user may take now
(`publishing.selectors.publish_actions`, which asks the rules `publishing.services.posts`
enforces), where the task's post stands, and the blog's categories and tags as suggestions on the
brief form. Imported by `publishing.admin`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html

from content.admin import GenerationTaskWithHistoryAdmin
from content.services.review import FEEDBACK_MAX_LENGTH
from publishing.models import Category, Tag
from publishing.selectors import publish_actions, task_post
from publishing.services.posts import task_publish, task_unpublish
from tasks.admin_actions import TaskAction
from tasks.models import GenerationTask
from tasks.selectors import database_now

VOCABULARY_SHOWN = 200  # categories and tags the brief form suggests (`blog_vocabulary`)


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label="Publish at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="In the site's time zone.",
    )

    def clean_at(self):
        # Past or future by the database's clock, which `task_publish` and the blog judge it by: a
        # web process ahead refused a time still to come, and one behind took a past time for a
        # schedule, which `task_publish` then published at once, said to be "Scheduled".
        at = self.cleaned_data["at"]
        if at <= database_now():
            raise forms.ValidationError("Choose a time in the future, or publish now.")
        return at


class UnpublishForm(forms.Form):
    # Kept in the append-only audit trail: held to what any decision's feedback may be, as the API holds it.
    reason = forms.CharField(required=False, max_length=FEEDBACK_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


def _publish(request, task, data) -> str:
    post = task_publish(task=task, by=request.user)
    return format_html('Published at <a href="{}">{}</a>.', post.get_absolute_url(), post.get_absolute_url())


def _schedule(request, task, data) -> str:
    post = task_publish(task=task, by=request.user, at=data["at"])
    return f"Scheduled for {timezone.localtime(post.published_at):%Y-%m-%d %H:%M}."


def _unpublish(request, task, data) -> str:
    task_unpublish(task=task, by=request.user, reason=data["reason"])
    return "Unpublished; the post keeps its address for a later publication."


class GenerationTaskPublishingAdmin(GenerationTaskWithHistoryAdmin):
    """The final task page: everything before, plus the publishing verbs."""

    def task_actions(self, request, task: GenerationTask) -> list[TaskAction]:
        allowed = publish_actions(request.user, task)
        post = task_post(task) if allowed else None
        description = ""
        if post is not None and post.published_at:
            # A scheduled post is not on the blog until its time: saying "since <that time>" told
            # the reviewer it was live, beside a "Republish now" that would in fact publish it first.
            url, when = post.get_absolute_url(), timezone.localtime(post.published_at).strftime("%Y-%m-%d %H:%M")
            description = (format_html('Scheduled to go live at <a href="{}">{}</a> on {}.', url, url, when)
                           if post.is_scheduled else format_html('On the blog at <a href="{}">{}</a> since {}.', url, url, when))
        actions = []
        if "publish" in allowed:
            label = "Republish now" if post is not None and post.is_public else "Publish now"
            actions.append(TaskAction("publish", label, _publish, panel="publish", style="primary",
                                      description=description))
        if "schedule" in allowed:
            actions.append(TaskAction("schedule", "Schedule", _schedule, ScheduleForm, panel="publish"))
        if "unpublish" in allowed:
            actions.append(TaskAction("unpublish", "Unpublish", _unpublish, UnpublishForm, panel="publish",
                                      style="danger", description=description if "publish" not in allowed else ""))
        return super().task_actions(request, task) + actions

    def blog_vocabulary(self, request) -> dict:
        """The VOCABULARY_SHOWN categories and tags most posts use, by name: a brief may name any
        other (or a new one). Every one was suggested: 452 kB of brief form at 5,000 of each."""
        def most_used(model) -> list[str]:
            names = (model.objects.annotate(used=Count("posts")).order_by("-used", "name")
                     .values_list("name", flat=True)[:VOCABULARY_SHOWN])
            return sorted(names, key=str.casefold)

        return {"categories": most_used(Category), "tags": most_used(Tag)}


admin.site.unregister(GenerationTask)
admin.site.register(GenerationTask, GenerationTaskPublishingAdmin)
