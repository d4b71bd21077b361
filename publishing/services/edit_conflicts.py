"""Two people editing one post, category or tag: the later save does not silently undo the earlier.

A form carries the edit fingerprint of the row it was loaded with (`edit_fingerprint`: a digest of
what a person edits of it, `EDITED_FIELDS_OF`); the save that follows is refused
(`check_edit_is_current`, `EditConflict`) when the stored row's fingerprint differs, with who
changed it and when as far as its history knows (`edit_conflict_message`). The saving services
check it under the row's lock (`publishing.services.posts`), the admin's forms once before, so that
what was typed stays on the page. One mechanism for every model listed here. Imports flow
publishing -> content -> tasks.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from publishing.models import Category, Post, PostChange, PostChangeKind, Tag
from tasks.exceptions import InvalidTransition

# What a person edits of a hand-written post (the admin's post form).
EDITED_FIELDS = ("title", "slug", "category_id", "excerpt", "featured_image", "image_alt", "image_credit",
                 "image_credit_url", "body", "published_at")
# What a person edits of each, a many-to-many field by the keys it holds: the fingerprint is taken
# over these only. What else changes a row is no edit: a post going live or its search vector, a
# publication putting a post in a category or under a tag.
EDITED_FIELDS_OF = {
    Post: (*EDITED_FIELDS, "tags"),
    Category: ("name", "slug", "description"),
    Tag: ("name", "slug"),
}
FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def edit_fingerprint(model, pk) -> str | None:
    """A digest of what a person edits of the stored row of `model` (`EDITED_FIELDS_OF`), None when
    it is gone. A form carries the one it was loaded with; a different one at save time means
    someone else saved the row meanwhile."""
    fields = [model._meta.get_field(name) for name in EDITED_FIELDS_OF[model]]
    row = (model.objects.filter(pk=pk)
           .values_list(*(name for name, field in zip(EDITED_FIELDS_OF[model], fields) if not field.many_to_many))
           .first())
    if row is None:
        return None
    values = [value.isoformat() if isinstance(value, datetime) else str(value or "") for value in row]
    members = [sorted(str(key) for key in field.remote_field.through.objects
                      .filter(**{field.m2m_field_name(): pk}).values_list(field.m2m_reverse_field_name(), flat=True))
               for field in fields if field.many_to_many]
    return hashlib.sha256(json.dumps([values, *members]).encode()).hexdigest()


class EditConflict(InvalidTransition):
    """Someone else saved the post, category or tag after the form that asks was loaded (409 Conflict)."""


def _last_edit(model, pk) -> tuple[str | None, datetime] | None:
    """Who (a username, None when not known) last changed the row, and when, as its history records
    it; None when it records nothing. A post has its own trail (`PostChange`). A category or tag is
    changed by people only in the admin, whose history (`LogEntry`) records each save with who made
    it (a publication only makes new ones, and records nothing): a save there that changed no field
    is left out, as it changed nothing."""
    if model is Post:
        last = (PostChange.objects.filter(post_id=pk).exclude(kind=PostChangeKind.DELETED)
                .select_related("actor").order_by("-created_at").first())
        return (last.actor.get_username() if last.actor else None, last.created_at) if last else None
    last = (LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id=str(pk),
                                    action_flag__in=(ADDITION, CHANGE))
            .exclude(action_flag=CHANGE, change_message__in=("", "[]"))
            .select_related("user").order_by("-action_time", "-pk").first())
    return (last.user.get_username(), last.action_time) if last else None


def edit_conflict_message(model, pk) -> str:
    """Who saved the row last, and when: what a person whose form is out of date is told; "Someone"
    when its history does not say."""
    last = _last_edit(model, pk)
    who = (last[0] if last else None) or "Someone"
    when = f" at {timezone.localtime(last[1]):%Y-%m-%d %H:%M}" if last else ""
    noun = model._meta.verbose_name
    return (f"{who} changed this {noun}{when}, after you opened this page: saving now would overwrite their "
            f"change. Open the {noun} again in another tab to compare; saving this form again overwrites it.")


def check_edit_is_current(model, pk, loaded_fingerprint) -> None:
    """Refuse (EditConflict) a save from a form loaded before the row's last change. A form that
    carries no readable fingerprint (a script, an old page) is not judged."""
    if not isinstance(loaded_fingerprint, str) or not FINGERPRINT.fullmatch(loaded_fingerprint):
        return
    if edit_fingerprint(model, pk) not in (None, loaded_fingerprint):
        raise EditConflict(edit_conflict_message(model, pk))
