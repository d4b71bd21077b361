"""Who may do what: every API operation and every admin view × six actors, the exact answer each gets.

The actors (`tests.security.actors`): anonymous, `editor` (who owns every object here),
`other_editor` (an editor who owns nothing here), `reviewer`, `staff` (admin site access, no
group) and `superuser`. The rules are README's "API" and "Editorial workflow": an operation needs
the model permission the admin needs; a task another user owns is a 404 for every verb of the API
(never a 403 that would confirm it exists); reviewing and publishing are the Reviewers'; staff
status opens the admin and grants nothing else. Every refusal of a state-changing request must
leave every table as it was.

The tables are complete by construction: a test walks the URL resolver (API routes and their
methods, the admin's registered models and custom views) and fails when something answers there
that the matrix does not list, so a new endpoint cannot go unreviewed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.urls import URLResolver, get_resolver

from tests.security.actors import ACTORS, fingerprint, jwt_client, make_actors, world
from tests.tasks.admin_support import brief_data, inline_management_data

pytestmark = pytest.mark.django_db

def answers(anonymous, editor, other_editor, reviewer, staff, superuser) -> dict:
    return dict(zip(ACTORS, (anonymous, editor, other_editor, reviewer, staff, superuser)))


def everyone(status) -> dict:
    return answers(*[status] * 6)


SEE_TASK = answers(401, 200, 404, 200, 404, 200)  # the creator and holders of view_all_tasks


@dataclass
class Call:
    """One API operation: its URL (formatted with the task and its versions), state and body."""

    path: str
    state: str = "completed"
    body: dict | None = None
    expected: dict = field(default_factory=dict)


API = {
    ("token_obtain", "POST"): Call("/api/auth/token", expected=answers(401, 200, 200, 200, 200, 200)),
    ("token_refresh", "POST"): Call("/api/auth/token/refresh", expected=answers(401, 200, 200, 200, 200, 200)),
    # Logging out needs no access token: the refresh token sent is the credential (a bad one: 401).
    ("logout", "POST"): Call("/api/auth/logout", expected=answers(401, 204, 204, 204, 204, 204)),
    ("current_user", "GET"): Call("/api/auth/me", expected=answers(401, 200, 200, 200, 200, 200)),
    ("schema", "GET"): Call("/api/schema", expected=everyone(200)),
    ("docs", "GET"): Call("/api/docs", expected=everyone(200)),
    # Staff status grants no operation: reading the catalog or tasks and estimating need the model
    # permissions the admin asks for.
    ("model_list", "GET"): Call("/api/models", expected=answers(401, 200, 200, 200, 403, 200)),
    ("task_estimate", "POST"): Call("/api/tasks/estimate", body={"word_count": 800},
                                    expected=answers(401, 200, 200, 200, 403, 200)),
    ("task_list", "GET"): Call("/api/tasks", expected=answers(401, 200, 200, 200, 403, 200)),
    ("task_list", "POST"): Call("/api/tasks", body={"topic": "A new brief"},
                                expected=answers(401, 201, 201, 201, 403, 201)),
    ("task_detail", "GET"): Call("/api/tasks/{task}", expected=SEE_TASK),
    ("task_detail", "PATCH"): Call("/api/tasks/{task}", "queued", {"title": "Retitled"},
                                   expected=answers(401, 200, 404, 200, 404, 200)),
    ("task_detail", "DELETE"): Call("/api/tasks/{task}", "queued", expected=answers(401, 403, 404, 204, 404, 204)),
    ("task_cancel", "POST"): Call("/api/tasks/{task}/cancel", "queued", expected=answers(401, 200, 404, 200, 404, 200)),
    ("task_retry", "POST"): Call("/api/tasks/{task}/retry", "failed", expected=answers(401, 200, 404, 200, 404, 200)),
    ("task_events", "GET"): Call("/api/tasks/{task}/events", expected=SEE_TASK),
    ("task_timeline", "GET"): Call("/api/tasks/{task}/timeline", expected=SEE_TASK),
    ("version_list", "GET"): Call("/api/tasks/{task}/versions", expected=SEE_TASK),
    ("version_detail", "GET"): Call("/api/tasks/{task}/versions/{current}", expected=SEE_TASK),
    ("version_diff", "GET"): Call("/api/tasks/{task}/versions/2/diff/{current}", expected=SEE_TASK),
    ("version_restore", "POST"): Call("/api/tasks/{task}/versions/3/restore", "restorable", {},
                                      expected=answers(401, 201, 404, 201, 404, 201)),
    ("task_approvals", "GET"): Call("/api/tasks/{task}/approvals", expected=SEE_TASK),
    ("task_approve", "POST"): Call("/api/tasks/{task}/approve", "completed", {"approved": True},
                                   expected=answers(401, 403, 404, 200, 404, 200)),
    ("task_revoke_approval", "POST"): Call("/api/tasks/{task}/revoke-approval", "approved", {"feedback": "No."},
                                           expected=answers(401, 403, 404, 200, 404, 200)),
    ("task_draft", "PATCH"): Call("/api/tasks/{task}/draft", "completed", {"body": "A person's edit."},
                                  expected=answers(401, 201, 404, 201, 404, 201)),
    ("task_publish", "POST"): Call("/api/tasks/{task}/publish", "approved", {},
                                   expected=answers(401, 403, 404, 200, 404, 200)),
    ("task_unpublish", "POST"): Call("/api/tasks/{task}/unpublish", "published", {},
                                     expected=answers(401, 403, 404, 200, 404, 200)),
    # A user's cost budget: their own or, for reviewers, anyone's (another's is a 404); only
    # reviewers and superusers set one.
    ("user_budget", "GET"): Call("/api/budgets/{editor}", "queued", expected=answers(401, 200, 404, 200, 404, 200)),
    ("user_budget", "PUT"): Call("/api/budgets/{editor}", "queued", {"monthly_limit": "25.00", "reason": "More."},
                                 expected=answers(401, 403, 403, 200, 403, 200)),
    # Webhooks: superusers only, as in the admin.
    ("webhook_list", "GET"): Call("/api/webhooks", expected=answers(401, 403, 403, 403, 403, 200)),
    ("webhook_list", "POST"): Call("/api/webhooks", body={"name": "Chat", "url": "https://93.184.215.14/hooks",
                                                           "events": ["task.failed"]},
                                   expected=answers(401, 403, 403, 403, 403, 201)),
    ("webhook_detail", "GET"): Call("/api/webhooks/{webhook}", expected=answers(401, 403, 403, 403, 403, 200)),
    ("webhook_detail", "PATCH"): Call("/api/webhooks/{webhook}", body={"name": "Renamed"},
                                      expected=answers(401, 403, 403, 403, 403, 200)),
    ("webhook_detail", "DELETE"): Call("/api/webhooks/{webhook}", expected=answers(401, 403, 403, 403, 403, 204)),
    ("webhook_deliveries", "GET"): Call("/api/webhooks/{webhook}/deliveries",
                                        expected=answers(401, 403, 403, 403, 403, 200)),
    ("webhook_ping", "POST"): Call("/api/webhooks/{webhook}/ping", expected=answers(401, 403, 403, 403, 403, 202)),
    ("webhook_delivery_resend", "POST"): Call("/api/webhook-deliveries/{delivery}/resend",
                                              expected=answers(401, 403, 403, 403, 403, 202)),
    ("post_list", "GET"): Call("/api/posts", "published", expected=everyone(200)),
    ("post_search", "GET"): Call("/api/posts/search?q=compost", "published", expected=everyone(200)),
    ("post_detail", "GET"): Call("/api/posts/{slug}", "published", expected=everyone(200)),
    (None, "GET"): Call("/api/no-such-endpoint", expected=everyone(404)),  # the API's catch-all
}




def _failed_webhook_delivery():
    from django.utils import timezone

    from publishing.webhooks.models import WebhookDelivery, WebhookSubscription

    subscription = WebhookSubscription.objects.create(name="Receiver", url="https://93.184.215.14/hooks",
                                                      events=["task.failed"])
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="task.failed", event_id="evt_1",
                                              payload={}, status="failed", scheduled_at=timezone.now())
    return subscription, delivery


def perform(name: str, method: str, actor: str, users: dict, task, webhook=None, delivery=None):
    """Send the operation as `actor`; the token endpoints get the actor's own credentials."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from publishing.models import Post
    from tests.factories import PASSWORD

    call = API[(name, method)]
    user = users[actor]
    client = jwt_client(user)
    current = task.versions.count()
    post = Post.objects.filter(task=task).first()
    path = call.path.format(task=task.pk, current=current, slug=post.slug if post else "none",
                            editor=users["editor"].pk if users["editor"] else "none",
                            webhook=webhook.pk if webhook else "none", delivery=delivery.pk if delivery else "none")
    body = call.body
    if name == "token_obtain":
        client = jwt_client(None)
        body = {"username": user.username if user else "nobody", "password": PASSWORD if user else "wrong"}
    elif name in ("token_refresh", "logout"):
        client = jwt_client(None)
        body = {"refresh": str(RefreshToken.for_user(user)) if user else "not-a-token"}
    return getattr(client, method.lower())(path, body, format="json")


API_CASES = [pytest.param(key, actor, id=f"{key[0]}-{key[1]}-{actor}") for key in API for actor in ACTORS]


@pytest.mark.parametrize(("key", "actor"), API_CASES)
def test_api_operation_answers_each_actor_as_the_rules_say(key, actor):
    users = make_actors()
    call = API[key]
    task = world(call.state, users["editor"])
    webhook, delivery = _failed_webhook_delivery() if "{webhook}" in call.path or "{delivery}" in call.path else (
        None, None)
    before = fingerprint()
    response = perform(*key, actor, users, task, webhook, delivery)
    assert response.status_code == call.expected[actor], response.content[:500]
    if response.status_code >= 400 and key[1] != "GET":
        assert fingerprint() == before, "a refused request changed the database"


# --- the matrix cannot go stale --------------------------------------------------------------

def _routes(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, pattern.namespace or namespace)
        else:
            yield namespace, pattern


def api_operations() -> set[tuple[str | None, str]]:
    """(route name, HTTP method) of every operation the API answers."""
    operations = set()
    for namespace, pattern in _routes(get_resolver().url_patterns):
        if namespace != "api":
            continue
        view = getattr(pattern.callback, "cls", None)
        methods = [m for m in ("get", "post", "put", "patch", "delete") if view is None or hasattr(view, m)]
        operations.update((pattern.name, m.upper()) for m in (methods if view else ["get"]))
    return operations


def test_every_api_operation_is_in_the_matrix():
    assert api_operations() == set(API)


# --- the admin -------------------------------------------------------------------------------

def admin_views() -> dict[str, str]:
    """Every named admin URL → its route (unnamed ones only redirect or 404)."""
    return {pattern.name: str(pattern.pattern) for namespace, pattern in _routes(get_resolver().url_patterns)
            if namespace == "admin" and pattern.name}


def admin_path(name: str, objects: dict) -> str:
    """The admin URL `name` for the sample row of its model (or the site view itself)."""
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse

    from publishing.models import Post

    special = {
        "app_list": {"app_label": "tasks"},
        "view_on_site": [ContentType.objects.get_for_model(Post).pk, objects["publishing.post"]],
        "auth_user_password_change": [objects["auth.user"]],
        "tasks_generationtask_action": [objects["tasks.generationtask"], "approve"],
        "dashboard_running_row": [objects["tasks.generationtask"]],
        "publishing_post_names": ["category"],
        "tasks_costbudget_names": ["user"],
    }
    if name in special:
        args = special[name]
        return reverse(f"admin:{name}", kwargs=args) if isinstance(args, dict) else reverse(f"admin:{name}", args=args)
    for label, pk in objects.items():
        prefix = label.replace(".", "_") + "_"
        if name.startswith(prefix) and name[len(prefix):] not in ("changelist", "add"):
            return reverse(f"admin:{name}", args=[pk])
    if name == "autocomplete":
        return reverse("admin:autocomplete") + "?app_label=publishing&model_name=post&field_name=category&term=a"
    return reverse(f"admin:{name}")


def admin_client(user):
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# Status of a GET of each admin view, in the order of ACTORS: anonymous, editor, other_editor,
# reviewer, staff, superuser. 302 for anonymous is the login page; for other_editor (and staff on
# history pages) it is the admin's "doesn't exist" redirect: another editor's task and its rows are
# not found, never shown. The task's delete page is a 403 for everyone because the sample task has an
# audit trail; append-only rows (versions, events, approvals, post changes) have no add or delete.
ADMIN = {
    # simplejwt's token lists: outstanding refresh tokens are read-only, blacklist rows superusers manage.
    "token_blacklist_outstandingtoken_add": "302 403 403 403 403 403",
    "token_blacklist_outstandingtoken_change": "302 403 403 403 403 200",
    "token_blacklist_outstandingtoken_changelist": "302 403 403 403 403 200",
    "token_blacklist_outstandingtoken_delete": "302 403 403 403 403 403",
    "token_blacklist_outstandingtoken_history": "302 403 403 403 403 200",
    "token_blacklist_blacklistedtoken_add": "302 403 403 403 403 200",
    "token_blacklist_blacklistedtoken_change": "302 403 403 403 403 200",
    "token_blacklist_blacklistedtoken_changelist": "302 403 403 403 403 200",
    "token_blacklist_blacklistedtoken_delete": "302 403 403 403 403 200",
    "token_blacklist_blacklistedtoken_history": "302 403 403 403 403 200",
    # django-axes: lockouts, failures and logins, for superusers only (nobody adds them by hand).
    "axes_accessattempt_add": "302 403 403 403 403 403",
    "axes_accessattempt_change": "302 403 403 403 403 200",
    "axes_accessattempt_changelist": "302 403 403 403 403 200",
    "axes_accessattempt_delete": "302 403 403 403 403 200",
    "axes_accessattempt_history": "302 403 403 403 403 200",
    "axes_accessfailurelog_add": "302 403 403 403 403 403",
    "axes_accessfailurelog_change": "302 403 403 403 403 200",
    "axes_accessfailurelog_changelist": "302 403 403 403 403 200",
    "axes_accessfailurelog_delete": "302 403 403 403 403 200",
    "axes_accessfailurelog_history": "302 403 403 403 403 200",
    "axes_accesslog_add": "302 403 403 403 403 403",
    "axes_accesslog_change": "302 403 403 403 403 200",
    "axes_accesslog_changelist": "302 403 403 403 403 200",
    "axes_accesslog_delete": "302 403 403 403 403 200",
    "axes_accesslog_history": "302 403 403 403 403 200",
    "app_list": "302 200 200 200 404 200",
    "auth_group_add": "302 403 403 403 403 200",
    "auth_group_change": "302 403 403 403 403 200",
    "auth_group_changelist": "302 403 403 403 403 200",
    "auth_group_delete": "302 403 403 403 403 200",
    "auth_group_history": "302 403 403 403 403 200",
    "auth_user_add": "302 403 403 403 403 200",
    "auth_user_change": "302 403 403 403 403 200",
    "auth_user_changelist": "302 403 403 403 403 200",
    "auth_user_delete": "302 403 403 403 403 200",
    "auth_user_history": "302 403 403 403 403 200",
    "auth_user_password_change": "302 403 403 403 403 200",
    "autocomplete": "302 200 200 200 403 200",
    "content_approvalevent_add": "302 403 403 403 403 403",
    "content_approvalevent_change": "302 200 302 200 403 200",
    "content_approvalevent_changelist": "302 200 200 200 403 200",
    "content_approvalevent_delete": "302 403 403 403 403 403",
    "content_approvalevent_history": "302 200 302 200 302 200",
    "content_contentversion_add": "302 403 403 403 403 403",
    "content_contentversion_change": "302 200 302 200 403 200",
    "content_contentversion_changelist": "302 200 200 200 403 200",
    "content_contentversion_delete": "302 403 403 403 403 403",
    "content_contentversion_history": "302 200 302 200 302 200",
    "django_q_failure_add": "302 403 403 403 403 403",
    "django_q_failure_change": "302 403 403 403 403 200",
    "django_q_failure_changelist": "302 403 403 403 403 200",
    "django_q_failure_delete": "302 403 403 403 403 200",
    "django_q_failure_history": "302 403 403 403 403 200",
    "django_q_schedule_add": "302 403 403 403 403 200",
    "django_q_schedule_change": "302 403 403 403 403 200",
    "django_q_schedule_changelist": "302 403 403 403 403 200",
    "django_q_schedule_delete": "302 403 403 403 403 200",
    "django_q_schedule_history": "302 403 403 403 403 200",
    "django_q_success_add": "302 403 403 403 403 403",
    "django_q_success_change": "302 403 403 403 403 200",
    "django_q_success_changelist": "302 403 403 403 403 200",
    "django_q_success_delete": "302 403 403 403 403 200",
    "django_q_success_history": "302 403 403 403 403 200",
    # The sample task is not running: its row is for no one (tests/publishing/test_dashboard.py
    # has the running one, seen by its owner and no other editor).
    "dashboard_running_row": "302 204 204 204 204 204",
    "dashboard_queue": "302 200 200 200 200 200",  # counts of what each may see, like the index
    "feedback_analytics": "302 200 200 200 403 200",
    "index": "302 200 200 200 200 200",
    "jsi18n": "302 200 200 200 200 200",
    "login": "200 302 302 302 302 302",
    "logout": "302 405 405 405 405 405",
    "password_change": "302 200 200 200 200 200",
    "password_change_done": "302 200 200 200 200 200",
    "publishing_category_add": "302 403 403 200 403 200",
    "publishing_category_change": "302 200 200 200 403 200",
    "publishing_category_changelist": "302 200 200 200 403 200",
    "publishing_category_delete": "302 403 403 403 403 200",
    "publishing_category_history": "302 200 200 200 403 200",
    "publishing_post_add": "302 200 200 200 403 200",
    "publishing_post_change": "302 200 200 200 403 200",
    "publishing_post_changelist": "302 200 200 200 403 200",
    "publishing_post_delete": "302 403 403 403 403 403",
    "publishing_post_history": "302 200 200 200 403 200",
    "publishing_post_names": "302 200 200 200 403 200",  # the categories and tags the post form's boxes offer
    "publishing_postchange_add": "302 403 403 403 403 403",
    "publishing_postchange_change": "302 200 200 200 403 200",
    "publishing_postchange_changelist": "302 200 200 200 403 200",
    "publishing_postchange_delete": "302 403 403 403 403 403",
    "publishing_postchange_history": "302 200 200 200 403 200",
    "publishing_slugredirect_add": "302 403 403 403 403 403",
    "publishing_slugredirect_change": "302 200 200 200 403 200",
    "publishing_slugredirect_changelist": "302 200 200 200 403 200",
    "publishing_slugredirect_delete": "302 403 403 200 403 200",
    "publishing_slugredirect_history": "302 200 200 200 403 200",
    "publishing_tag_add": "302 200 200 200 403 200",
    "publishing_tag_change": "302 200 200 200 403 200",
    "publishing_tag_changelist": "302 200 200 200 403 200",
    "publishing_tag_delete": "302 403 403 403 403 200",
    "publishing_tag_history": "302 200 200 200 403 200",
    # Webhooks: superusers manage subscriptions; delivery attempts are a read-only history.
    "publishing_webhookdelivery_add": "302 403 403 403 403 403",
    "publishing_webhookdelivery_change": "302 403 403 403 403 200",
    "publishing_webhookdelivery_changelist": "302 403 403 403 403 200",
    "publishing_webhookdelivery_delete": "302 403 403 403 403 403",
    "publishing_webhookdelivery_history": "302 403 403 403 403 200",
    "publishing_webhooksubscription_add": "302 403 403 403 403 200",
    "publishing_webhooksubscription_change": "302 403 403 403 403 200",
    "publishing_webhooksubscription_changelist": "302 403 403 403 403 200",
    "publishing_webhooksubscription_delete": "302 403 403 403 403 200",
    "publishing_webhooksubscription_history": "302 403 403 403 403 200",
    # Users' cost budgets: Reviewers and superusers set them; nobody deletes one (its history stays).
    "tasks_costbudget_add": "302 403 403 200 403 200",
    "tasks_costbudget_change": "302 403 403 200 403 200",
    "tasks_costbudget_changelist": "302 403 403 200 403 200",
    "tasks_costbudget_delete": "302 403 403 403 403 403",
    "tasks_costbudget_history": "302 403 403 200 403 200",
    "tasks_costbudget_names": "302 403 403 200 403 200",  # the names of users the add form's box offers
    # ...and every change of a limit, read-only (a budget's page links to its own).
    "tasks_costbudgetchange_add": "302 403 403 403 403 403",
    "tasks_costbudgetchange_change": "302 403 403 200 403 200",
    "tasks_costbudgetchange_changelist": "302 403 403 200 403 200",
    "tasks_costbudgetchange_delete": "302 403 403 403 403 403",
    "tasks_costbudgetchange_history": "302 403 403 200 403 200",
    "tasks_generationtask_action": "302 405 405 405 405 405",
    "tasks_generationtask_add": "302 200 200 200 403 200",
    "tasks_generationtask_change": "302 200 302 200 403 200",
    "tasks_generationtask_changelist": "302 200 200 200 403 200",
    "tasks_generationtask_delete": "302 403 403 403 403 403",
    "tasks_generationtask_diff": "302 200 404 200 404 200",
    "tasks_generationtask_history": "302 302 302 302 302 302",  # to the task's events, or the index
    "tasks_generationtask_row": "302 200 204 200 403 200",
    "tasks_modelcatalogentry_add": "302 403 403 403 403 200",
    "tasks_modelcatalogentry_change": "302 200 200 200 403 200",
    "tasks_modelcatalogentry_changelist": "302 200 200 200 403 200",
    "tasks_modelcatalogentry_delete": "302 403 403 403 403 200",
    "tasks_modelcatalogentry_history": "302 200 200 200 403 200",
    "tasks_stagecheckpoint_add": "302 403 403 403 403 403",
    "tasks_stagecheckpoint_change": "302 200 302 200 403 200",
    "tasks_stagecheckpoint_changelist": "302 200 200 200 403 200",
    "tasks_stagecheckpoint_delete": "302 403 403 403 403 403",
    "tasks_stagecheckpoint_history": "302 200 302 200 302 200",
    "tasks_taskevent_add": "302 403 403 403 403 403",
    "tasks_taskevent_change": "302 200 302 200 403 200",
    "tasks_taskevent_changelist": "302 200 200 200 403 200",
    "tasks_taskevent_delete": "302 403 403 403 403 403",
    "tasks_taskevent_history": "302 200 302 200 302 200",
    "view_on_site": "302 302 302 302 403 302",
}


@pytest.fixture
def admin_world(db):
    from tests.security.actors import admin_objects

    users = make_actors()
    return users, admin_objects(users)


@pytest.mark.parametrize("actor", ACTORS)
def test_every_admin_view_answers_each_actor_as_the_rules_say(actor, admin_world):
    users, objects = admin_world
    client = admin_client(users[actor])
    column = ACTORS.index(actor)
    answered = {name: str(client.get(admin_path(name, objects)).status_code) for name in ADMIN}
    assert answered == {name: codes.split()[column] for name, codes in ADMIN.items()}


# django-q2 registers its queue's admin ("Queued tasks") only with the ORM broker (no REDIS_URL).
ORM_BROKER_ADMIN = {
    "django_q_ormq_add": "302 403 403 403 403 403",
    "django_q_ormq_change": "302 403 403 403 403 200",
    "django_q_ormq_changelist": "302 403 403 403 403 200",
    "django_q_ormq_delete": "302 403 403 403 403 200",
    "django_q_ormq_history": "302 403 403 403 403 200",
}
if "django_q_ormq_changelist" in admin_views():
    ADMIN.update(ORM_BROKER_ADMIN)


def test_every_admin_view_is_in_the_matrix():
    assert set(admin_views()) == set(ADMIN)


# --- state changes in the admin: who changes something, and that a refusal changes nothing ----

@dataclass
class AdminPost:
    """A POST of an admin form: the URL name and its arguments, the world, the form data."""

    url: str
    state: str
    data: dict
    changed_by: tuple  # the actors whose POST changes the database

    def path(self, task) -> str:
        from django.urls import reverse

        if self.url.startswith("verb:"):
            return reverse("admin:tasks_generationtask_action", args=[task.pk, self.url[5:]])
        if self.url.endswith(("changelist", "add")):
            return reverse(f"admin:{self.url}")
        return reverse(f"admin:{self.url}", args=[task.pk])


REVIEWERS_ONLY = ("reviewer", "superuser")
TASK_EDITORS = ("editor", "reviewer", "superuser")  # the creator and whoever sees every task


def selected(action: str, **data) -> dict:
    return {"action": action, "_selected_action": "{task}", "index": "0", **data}


ADMIN_POSTS = {
    "approve": AdminPost("verb:approve", "completed", {"approve-seen_version": "{current}"}, REVIEWERS_ONLY),
    "reject": AdminPost("verb:reject", "completed", {"reject-seen_version": "{current}", "reject-feedback": "Thin.",
                                                "reject-reasons": "quality"}, REVIEWERS_ONLY),
    "revoke_approval": AdminPost("verb:revoke_approval", "approved", {"revoke_approval-feedback": "No."},
                             REVIEWERS_ONLY),
    "edit": AdminPost("verb:edit", "completed", {"edit-title": "Edited", "edit-body": "A person's text.",
                                           "edit-base_version": "{current}"}, TASK_EDITORS),
    "restore": AdminPost("verb:restore", "restorable", {"restore-number": "3"}, TASK_EDITORS),
    "publish": AdminPost("verb:publish", "approved", {}, REVIEWERS_ONLY),
    "schedule": AdminPost("verb:schedule", "approved", {"schedule-at": "2099-01-01T09:00"}, REVIEWERS_ONLY),
    "unpublish": AdminPost("verb:unpublish", "published", {"unpublish-reason": "Outdated."}, REVIEWERS_ONLY),
    "cancel": AdminPost("verb:cancel", "queued", {}, TASK_EDITORS),
    "retry": AdminPost("verb:retry", "failed", {}, TASK_EDITORS),
    "cancel_tasks": AdminPost("tasks_generationtask_changelist", "queued", selected("cancel_tasks"), TASK_EDITORS),
    "retry_tasks": AdminPost("tasks_generationtask_changelist", "failed", selected("retry_tasks"), TASK_EDITORS),
    "set_priority": AdminPost("tasks_generationtask_changelist", "queued", selected("set_priority", apply="1",
                                                                                   priority="5"), TASK_EDITORS),
    "delete_selected": AdminPost("tasks_generationtask_changelist", "queued", selected("delete_selected", post="yes"),
                             REVIEWERS_ONLY),
    "delete": AdminPost("tasks_generationtask_delete", "queued", {"post": "yes"}, REVIEWERS_ONLY),
    "change": AdminPost("tasks_generationtask_change", "queued", {"title": "Retitled"}, TASK_EDITORS),
    "add": AdminPost("tasks_generationtask_add", "queued", {"topic": "A brand new brief"},
                 ("editor", "other_editor", "reviewer", "superuser")),
}


@pytest.mark.parametrize(("name", "actor"), [pytest.param(n, a, id=f"{n}-{a}") for n in ADMIN_POSTS for a in ACTORS])
def test_admin_state_change_is_made_by_exactly_the_allowed_actors(name, actor):
    users = make_actors()
    post = ADMIN_POSTS[name]
    task = world(post.state, users["editor"])
    values = {"task": str(task.pk), "current": str(task.versions.count()), "model": str(task.model_id)}
    data = {key: value.format(**values) for key, value in post.data.items()}
    if name in ("add", "change"):  # the whole brief form, as the page (seen by a superuser) renders it
        page = admin_client(users["superuser"]).get(post.path(task))
        data = {**brief_data(**data), **inline_management_data(page)}
    before = fingerprint()
    response = admin_client(users[actor]).post(post.path(task), data)
    assert response.status_code in (200, 302, 403, 404), response.status_code
    changed = fingerprint() != before
    assert changed == (actor in post.changed_by), (response.status_code, response.content[:300])


def test_every_task_page_verb_and_bulk_action_is_in_the_matrix(rf):
    from tasks.models import GenerationTask

    users = make_actors()
    request = rf.get("/admin/")
    request.user = users["superuser"]
    task_admin = admin.site._registry[GenerationTask]
    verbs = set()
    for state in ("queued", "failed", "restorable", "approved", "published"):
        verbs |= {action.verb for action in task_admin.task_actions(request, world(state, users["editor"]))}
    bulk = set(task_admin.get_actions(request))
    assert verbs | bulk | {"delete", "change", "add"} == set(ADMIN_POSTS)
