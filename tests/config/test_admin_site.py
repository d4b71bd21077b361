"""The admin site's pages that only read run planned for their values (config/admin_site.py,
`PressroomAdminSite.admin_view`): with prepared statements a changelist's filters would otherwise
share one generic plan. Every changelist, whichever app registered it, answers a date lookup no
`datetime` holds, or a value its column cannot hold, with its "?e=1" page. The dashboard and
feedback analytics have their own tests in publishing."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from publishing.models import Post
from tests.factories import make_task
from tests.tasks.admin_support import breadcrumbs_of, client_for

pytestmark = pytest.mark.django_db

SETTING = "set_config('plan_cache_mode', 'force_custom_plan', true)"


def statements_of(client, method: str, url: str, data=None) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data or {})
    assert response.status_code in (200, 302), response.status_code
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("url", [
    reverse("admin:tasks_generationtask_changelist") + "?status__exact=running",
    reverse("admin:index"),
])
def test_a_page_that_reads_reads_its_tasks_planned_for_their_values(editor, url):
    make_task(created_by=editor, status="running")

    statements = statements_of(client_for(editor), "get", url)

    setting = next(number for number, sql in enumerate(statements) if SETTING in sql)
    task_reads = [number for number, sql in enumerate(statements) if 'FROM "tasks_generationtask"' in sql]
    assert task_reads and min(task_reads) > setting, "the tasks were read before the setting, or not at all"


def test_the_changelist_rows_rendered_after_the_view_returned_are_read_under_it_too(editor):
    """A changelist reads its rows while its template renders, after the view has returned."""
    task = make_task(created_by=editor, title="Rendered under the setting")

    statements = statements_of(client_for(editor), "get", reverse("admin:tasks_generationtask_changelist"))

    setting = next(number for number, sql in enumerate(statements) if SETTING in sql)
    rows = [number for number, sql in enumerate(statements)
            if 'FROM "tasks_generationtask"' in sql and "LIMIT" in sql]
    assert rows and min(rows) > setting
    assert task.title in client_for(editor).get(reverse("admin:tasks_generationtask_changelist")).content.decode()


def test_a_form_that_writes_runs_as_before(editor):
    queued = make_task(created_by=editor)
    done = make_task(created_by=editor, status="completed", finished_at=timezone.now())

    statements = statements_of(client_for(editor), "post", reverse("admin:tasks_generationtask_changelist"),
                               {"action": "cancel_tasks", "_selected_action": [str(queued.pk), str(done.pk)]})

    assert not any(SETTING in sql for sql in statements)
    queued.refresh_from_db()
    assert queued.status == "cancelled"


# --- "View on site" -----------------------------------------------------------------------------

def view_on_site(model, object_id) -> str:
    from django.contrib.contenttypes.models import ContentType

    return reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(model).pk, object_id])


def test_view_on_site_redirects_whoever_may_see_the_object_in_the_admin(editor):
    post = Post.objects.create(title="On site", slug="on-site")

    response = client_for(editor).get(view_on_site(type(post), post.pk))

    assert response.status_code == 302 and response["Location"].endswith(post.get_absolute_url())


def test_view_on_site_tells_a_staff_member_without_the_right_nothing_of_the_object():
    from tests.factories import make_user

    post = Post.objects.create(title="A draft", slug="draft-address")
    staff = make_user("plain-staff")

    response = client_for(staff).get(view_on_site(type(post), post.pk))

    assert response.status_code == 403
    assert "draft-address" not in response.get("Location", "") + response.content.decode()


def test_view_on_site_of_a_task_the_editor_may_not_see_is_not_found(editor, other_editor):
    from tasks.models import GenerationTask

    theirs = make_task(created_by=other_editor)

    assert client_for(editor).get(view_on_site(GenerationTask, theirs.pk)).status_code == 404


@pytest.mark.parametrize("content_type_id, object_id", [
    ("abc", "1"), ("99999999999999999999", "1"), ("-1", "1"), ("0", "1"),
    ("{post_type}", "not-a-uuid"), ("{post_type}", "1" * 5000), ("{post_type}", "../..")
])
def test_view_on_site_answers_hostile_addresses_with_a_404(editor, content_type_id, object_id):
    # (a NUL anywhere in an admin path is a 400 before any view: tests/tasks/test_hostile_input.py)
    from django.contrib.contenttypes.models import ContentType

    content_type_id = content_type_id.format(post_type=ContentType.objects.get_for_model(Post).pk)
    response = client_for(editor).get(f"/admin/r/{content_type_id}/{object_id}/")

    assert response.status_code == 404


def _date_lookups():
    for model in admin.site._registry:
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DateField):  # DateTimeField too
                yield pytest.param(model, field.name, id=f"{model._meta.label}.{field.name}")
                break


@pytest.mark.parametrize("year", ["0", "99999999999999"])
@pytest.mark.parametrize(("model", "field"), list(_date_lookups()))
def test_every_changelist_answers_a_year_no_date_holds_with_its_invalid_lookup_page(superuser, model, field, year):
    # Third-party admins too (django-q2's results, simplejwt's tokens, axes' attempts): before, the
    # apps' admins each mixed the rule in, and `?created_at__year=0` on simplejwt's was a 500.
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = client_for(superuser).get(f"{url}?{field}__year={year}")

    assert response.status_code == 302, response.status_code
    assert response["Location"].endswith("?e=1")


def _array_lookups():
    for model in admin.site._registry:
        for field in model._meta.concrete_fields:
            if isinstance(field, ArrayField):
                yield pytest.param(model, field.name, id=f"{model._meta.label}.{field.name}")


@pytest.mark.parametrize("lookup", ["exact", "gte", "contains"])
@pytest.mark.parametrize(("model", "field"), list(_array_lookups()))
def test_every_changelist_answers_an_array_lookup_of_plain_text_with_its_invalid_lookup_page(superuser, model,
                                                                                            field, lookup):
    # The text went to PostgreSQL as it was: "malformed array literal", a 500 (tags of tasks,
    # reasons of decisions, events of webhook subscriptions).
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = client_for(superuser).get(f"{url}?{field}__{lookup}=junk")

    assert response.status_code == 302, response.status_code
    assert response["Location"].endswith("?e=1")
    assert Post.objects.count() == 0  # the transaction the request ran in is still usable


def test_the_task_lists_row_asked_for_with_an_array_lookup_of_plain_text_is_a_400(editor):
    task = make_task(created_by=editor)

    response = client_for(editor).get(reverse("admin:tasks_generationtask_row", args=[task.pk]) + "?tags__exact=x")

    assert response.status_code == 400


@pytest.mark.parametrize(("changelist", "action", "selected"), [
    ("admin:tasks_generationtask_changelist", "cancel_tasks", "x"),  # not a UUID: a ValidationError (500) before
    ("admin:tasks_generationtask_changelist", "cancel_tasks", "9" * 40),
    ("admin:publishing_post_changelist", "delete_selected", "9" * 40),  # past bigint: a DataError before
    ("admin:django_q_success_changelist", "delete_selected", "a\x00b"),  # a NUL in a text key
])
def test_a_list_action_on_a_selection_that_names_no_row_does_nothing_and_says_so(superuser, changelist, action,
                                                                                  selected):
    url = reverse(changelist)

    response = client_for(superuser).post(url, {"action": action, "_selected_action": [selected]}, follow=True)

    assert response.status_code == 200
    assert "The selection names no item of this list; nothing was done." in [
        str(message) for message in response.context["messages"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", ["webhook subscription", "hand-written post"])
def test_saving_a_change_form_after_another_admin_deleted_the_row_does_not_bring_it_back(superuser, monkeypatch,
                                                                                         model):
    # The other admin's delete commits between this form's load and its save. Django's save()
    # updated no row and inserted it again: the deleted post came back, public.
    import psycopg
    from django.contrib.admin import ModelAdmin

    from publishing.webhooks.models import WebhookSubscription
    from tests import processes

    if model == "webhook subscription":
        row = WebhookSubscription.objects.create(name="Hooks", url="https://hooks.example.com/in",
                                                 events=["task.completed"], secret="s" * 32)
        table, url = "publishing_webhooksubscription", reverse("admin:publishing_webhooksubscription_change",
                                                                args=[row.pk])
        data = {"name": "Hooks, renamed", "url": "https://hooks.example.com/in", "events": ["task.completed"],
                "secret": "s" * 32, "active": "on"}
    else:
        row = Post.objects.create(title="A post", slug="a-post", body="Text.", published_at=timezone.now())
        table, url = "publishing_post", reverse("admin:publishing_post_change", args=[row.pk])
        data = {"title": "A post, renamed", "slug": "a-post", "body": "Text.", "excerpt": "",
                "published_at_0": timezone.now().strftime("%Y-%m-%d"), "published_at_1": "00:00:00",
                "image_alt": "", "image_credit": "", "image_credit_url": ""}
    real_save_form = ModelAdmin.save_form

    def save_form_after_a_delete_elsewhere(self, request, form, change):
        with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
            other.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])
        return real_save_form(self, request, form, change)

    monkeypatch.setattr(ModelAdmin, "save_form", save_form_after_a_delete_elsewhere)

    response = client_for(superuser).post(url, data, follow=True)

    assert response.status_code == 200
    assert any("was deleted meanwhile; nothing was saved" in str(message) for message in response.context["messages"])
    assert not type(row).objects.filter(pk=row.pk).exists()


def test_axes_cleanup_of_expired_attempts_runs_from_the_admin(superuser):
    # django-axes' own action failed on every run: its handler reads an attribute only a login sets.
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(username="someone", ip_address="203.0.113.9", user_agent="x", get_data="",
                                 post_data="", http_accept="", path_info="/admin/login/", failures_since_start=1)
    url = reverse("admin:axes_accessattempt_changelist")

    response = client_for(superuser).post(url, {"action": "cleanup_expired_attempts",
                                               "_selected_action": [AccessAttempt.objects.get().pk]}, follow=True)

    assert response.status_code == 200
    assert any("expired access attempts" in str(message) for message in response.context["messages"])


@pytest.mark.parametrize("app_label", ["tasks", "content", "publishing"])
def test_every_model_is_counted_in_a_plural_name(app_label):
    # The changelist counts rows with the plural: "9 audit trail" read as a misprint.
    from django.apps import apps

    for model in apps.get_app_config(app_label).get_models():
        plural = str(model._meta.verbose_name_plural)
        assert plural != str(model._meta.verbose_name) and plural.endswith("s"), f"{model.__name__}: {plural!r}"


@pytest.mark.parametrize("model", [pytest.param(model, id=model._meta.label) for model in admin.site._registry
                                   if model._meta.app_label in ("tasks", "content", "publishing")])
def test_a_changelists_breadcrumbs_name_the_app_apart_from_the_model(superuser, model):
    # "Home › Generation tasks › Generation tasks": the tasks app had its model's name.
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    home, app, models_crumb = breadcrumbs_of(client_for(superuser).get(url))

    assert home == "Home"
    assert app == model._meta.app_config.verbose_name and app.lower() != models_crumb.lower()


@pytest.mark.django_db
def test_an_empty_value_is_the_same_dash_everywhere(superuser):
    from publishing.webhooks.models import WebhookSubscription

    WebhookSubscription.objects.create(name="Quiet", url="https://hooks.example.com/x", events=["task.failed"])
    page = client_for(superuser).get(reverse("admin:publishing_webhooksubscription_change",
                              args=[WebhookSubscription.objects.get(name="Quiet").pk])).content.decode()

    assert '<div class="readonly">—</div>' in page and '<div class="readonly">-</div>' not in page
