"""The six actors of the security tests and the world they act on.

Every object is owned by `editor`; `other_editor` is an editor who owns nothing here, so each
refusal of theirs tests isolation. `staff` has the admin's door open (is_staff) and no group.
A world is one task of `editor`'s in a named state, reached through the services, as a real task
would be.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from content.models import ApprovalEvent, ContentVersion
from content.services.review import task_approve, task_edit_draft
from publishing.models import Category, Post, PostChange, SlugRedirect, Tag
from publishing.roles import EDITORS, REVIEWERS
from publishing.services.posts import task_publish
from publishing.webhooks.models import WebhookDelivery, WebhookSubscription
from tasks.events import emit
from tasks.models import CostBudget, CostBudgetChange, GenerationTask, ModelCatalogEntry, StageCheckpoint, TaskEvent
from tasks.services.budgets import budget_set
from tests.conftest import role
from tests.editorial import completed_task
from tests.factories import make_user, submit_task

ACTORS = ("anonymous", "editor", "other_editor", "reviewer", "staff", "superuser")


def make_actors() -> dict:
    """name → user (None for anonymous)."""
    editor, other, reviewer = make_user("m_editor"), make_user("m_other"), make_user("m_reviewer")
    editor.groups.add(role(EDITORS))
    other.groups.add(role(EDITORS))
    reviewer.groups.add(role(REVIEWERS))
    return {"anonymous": None, "editor": editor, "other_editor": other, "reviewer": reviewer,
            "staff": make_user("m_staff"), "superuser": make_user("m_root", is_superuser=True)}


def a_reviewer():
    """A second reviewer who brings a world to its state (so the actors' own rows stay as they are)."""
    user = make_user()
    user.groups.add(role(REVIEWERS))
    return user


def world(state: str, owner) -> GenerationTask:
    """A task of `owner`'s: queued, failed, completed, restorable (completed with an edit after the
    formatted version), approved or published."""
    if state == "queued":
        return submit_task(created_by=owner, topic="A queued brief")
    if state == "failed":
        task = submit_task(created_by=owner, topic="A failed brief")
        GenerationTask.objects.filter(pk=task.pk).update(status="failed", finished_at=timezone.now(),
                                                         error="The model answered 500.")
        task.refresh_from_db()
        return task
    task = completed_task(created_by=owner)
    if state == "completed":
        return task
    if state == "restorable":
        task_edit_draft(task=task, by=owner, body=task.versions.latest("number").body + "\n\nOne more line.")
        task.refresh_from_db()
        return task
    decider = a_reviewer()
    task_approve(task=task, by=decider)
    task.refresh_from_db()
    if state == "approved":
        return task
    assert state == "published", state
    task_publish(task=task, by=decider)
    task.refresh_from_db()
    return task


def jwt_client(user) -> APIClient:
    """An API client as `user` with a real access token (anonymous: no credentials)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


FINGERPRINTED = (GenerationTask, ContentVersion, ApprovalEvent, TaskEvent, StageCheckpoint, Post, PostChange,
                 Category, Tag, SlugRedirect, ModelCatalogEntry, CostBudget, CostBudgetChange, WebhookSubscription, WebhookDelivery)


def fingerprint() -> dict:
    """Every row of the tables an operation could change, as plain values: equal before and after
    a refused request means the refusal changed nothing."""
    return {model.__name__: sorted(map(repr, model.objects.values_list())) for model in FINGERPRINTED}


def admin_objects(users: dict) -> dict:
    """One row of every model the admin registers, keyed by model label, all of `editor`'s where
    rows have an owner: a published task (versions, approvals, events, post, category, tag), a
    checkpoint, the offline model, the editor and the Editors group, and django-q2's rows."""
    from django.contrib.auth.models import Group
    from django_q.models import OrmQ, Schedule, Task

    task = world("published", users["editor"])
    checkpoint = StageCheckpoint.objects.create(task=task, stage="research", attempt=1, data={})
    event = emit(task, "progress", message="Researching")
    post = Post.objects.get(task=task)
    q_task = dict(name="job", func="math.floor", started=timezone.now(), stopped=timezone.now())
    return {
        "tasks.generationtask": task.pk,
        "tasks.taskevent": event.pk,
        "tasks.stagecheckpoint": checkpoint.pk,
        "tasks.modelcatalogentry": ModelCatalogEntry.objects.get(key="offline").pk,
        "tasks.costbudget": budget_set(user=users["editor"], monthly_limit=Decimal("50"), by=users["superuser"]).pk,
        "tasks.costbudgetchange": CostBudgetChange.objects.get(user=users["editor"]).pk,
        "content.contentversion": task.versions.latest("number").pk,
        "content.approvalevent": ApprovalEvent.objects.filter(task=task).first().pk,
        "publishing.post": post.pk,
        "publishing.postchange": PostChange.objects.create(post=post, post_title=post.title, kind="published",
                                                           actor=users["editor"]).pk,
        "publishing.category": post.category_id,
        "publishing.tag": post.tags.first().pk,
        "publishing.slugredirect": SlugRedirect.objects.create(slug="an-old-address", post=post).pk,
        "auth.user": users["editor"].pk,
        "auth.group": Group.objects.get(name=EDITORS).pk,
        "django_q.schedule": Schedule.objects.create(func="math.floor", name="a schedule").pk,
        "django_q.success": Task.objects.create(id="s" * 32, success=True, **q_task).pk,
        "django_q.failure": Task.objects.create(id="f" * 32, success=False, **q_task).pk,
        "django_q.ormq": OrmQ.objects.create(key="pressroom", payload="x", lock=timezone.now()).pk,
        **axes_rows(users["editor"].username),
        **token_rows(users["editor"]),
        **webhook_rows(),
    }


def webhook_rows() -> dict:
    """A webhook subscription and one recorded delivery attempt (superusers manage them)."""
    from publishing.models import WebhookDelivery, WebhookSubscription

    subscription = WebhookSubscription.objects.create(name="CRM", url="https://hooks.example.com/pressroom",
                                                      events=["task.completed"])
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="e-1",
                                              payload={"event": "task.completed"}, scheduled_at=timezone.now())
    return {"publishing.webhooksubscription": subscription.pk, "publishing.webhookdelivery": delivery.pk}


def token_rows(user) -> dict:
    """An outstanding refresh token of `user` and a blacklisted one (simplejwt's token lists)."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    RefreshToken.for_user(user)  # recorded as outstanding
    used = RefreshToken.for_user(user)
    used.blacklist()
    return {
        "token_blacklist.outstandingtoken": OutstandingToken.objects.exclude(jti=used["jti"]).get(user=user).pk,
        "token_blacklist.blacklistedtoken": BlacklistedToken.objects.get(token__jti=used["jti"]).pk,
    }


def axes_rows(username: str) -> dict:
    """A lockout, a failure and a login of django-axes (the admin lists them under Axes)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    seen = dict(username=username, ip_address="192.0.2.7", user_agent="test", http_accept="*/*",
                path_info="/admin/login/", attempt_time=timezone.now())
    return {
        "axes.accessattempt": AccessAttempt.objects.create(**seen, get_data="", post_data="",
                                                           failures_since_start=5).pk,
        "axes.accessfailurelog": AccessFailureLog.objects.create(**seen, locked_out=True).pk,
        "axes.accesslog": AccessLog.objects.create(**seen).pk,
    }
