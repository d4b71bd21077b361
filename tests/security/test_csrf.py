"""CSRF on every state-changing form: without the token a POST is a 403 that changes nothing; with
it the same POST works.

The admin's forms are enumerated, not picked: every state change of the authorization matrix
(`ADMIN_POSTS`: the task page's verbs, bulk actions, add, change, delete) and the add form of every
registered model, plus login, logout and the password change. The blog has no form that changes
anything (it answers POST with 405). The API: a session-authenticated POST needs the token
(DRF's SessionAuthentication enforces CSRF), a JWT-authenticated one does not.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from tasks.models import GenerationTask
from tests.factories import PASSWORD
from tests.security.actors import fingerprint, make_actors, world
from tests.security.test_authorization_matrix import ADMIN_POSTS, admin_client
from tests.tasks.admin_support import brief_data, inline_management_data

pytestmark = pytest.mark.django_db


def csrf_client(user=None) -> tuple[Client, str]:
    """A client that enforces CSRF as a browser's would meet it, and the token a page gave it."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get(reverse("admin:index" if user else "admin:login"))  # a page with a form sets the cookie
    return client, client.cookies["csrftoken"].value


def admin_post_data(name: str, users: dict, task) -> dict:
    post = ADMIN_POSTS[name]
    values = {"task": str(task.pk), "current": str(task.versions.count()), "model": str(task.model_id)}
    data = {key: value.format(**values) for key, value in post.data.items()}
    if name in ("add", "change"):
        page = admin_client(users["superuser"]).get(post.path(task))
        data = {**brief_data(**data), **inline_management_data(page)}
    return data


@pytest.mark.parametrize("name", list(ADMIN_POSTS))
def test_admin_state_change_needs_the_csrf_token(name):
    users = make_actors()
    post = ADMIN_POSTS[name]
    task = world(post.state, users["editor"])
    data = admin_post_data(name, users, task)
    client, token = csrf_client(users["superuser"])
    before = fingerprint()

    refused = client.post(post.path(task), data)
    assert refused.status_code == 403
    assert fingerprint() == before

    client.post(post.path(task), {**data, "csrfmiddlewaretoken": token})
    assert fingerprint() != before


@pytest.mark.parametrize("model", [f"{m._meta.app_label}_{m._meta.model_name}" for m in admin.site._registry])
def test_every_admin_add_form_refuses_a_post_without_the_token(model):
    users = make_actors()
    client, _ = csrf_client(users["superuser"])
    before = fingerprint()
    assert client.post(reverse(f"admin:{model}_add"), {"name": "x"}).status_code == 403
    assert fingerprint() == before


def test_login_needs_the_token():
    users = make_actors()
    client, token = csrf_client()
    credentials = {"username": users["editor"].username, "password": PASSWORD, "next": "/admin/"}
    assert client.post(reverse("admin:login"), credentials).status_code == 403
    assert "_auth_user_id" not in client.session
    assert client.post(reverse("admin:login"), {**credentials, "csrfmiddlewaretoken": token}).status_code == 302
    assert client.session["_auth_user_id"] == str(users["editor"].pk)


def test_logout_needs_the_token():
    users = make_actors()
    client, token = csrf_client(users["editor"])
    assert client.post(reverse("admin:logout")).status_code == 403
    assert client.session.get("_auth_user_id") == str(users["editor"].pk)
    assert client.post(reverse("admin:logout"), {"csrfmiddlewaretoken": token}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_change_needs_the_token():
    users = make_actors()
    client, token = csrf_client(users["editor"])
    form = {"old_password": PASSWORD, "new_password1": "a-new-long-passphrase-9", "new_password2": "a-new-long-passphrase-9"}
    assert client.post(reverse("admin:password_change"), form).status_code == 403
    users["editor"].refresh_from_db()
    assert users["editor"].check_password(PASSWORD)
    assert client.post(reverse("admin:password_change"), {**form, "csrfmiddlewaretoken": token}).status_code == 302
    users["editor"].refresh_from_db()
    assert users["editor"].check_password("a-new-long-passphrase-9")


@pytest.mark.parametrize("path", ["/", "/search/?q=compost", "/posts/composting-at-home/", "/feeds/rss/"])
def test_the_blog_has_no_form_that_changes_anything(path):
    users = make_actors()
    world("published", users["editor"])
    client, token = csrf_client(users["superuser"])
    before = fingerprint()
    assert client.post(path, {"csrfmiddlewaretoken": token}).status_code == 405
    assert fingerprint() == before


def test_a_session_authenticated_api_post_needs_the_token():
    users = make_actors()
    client, token = csrf_client(users["editor"])
    brief = {"topic": "A brief sent with a session"}
    refused = client.post("/api/tasks", brief, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert not GenerationTask.objects.exists()
    created = client.post("/api/tasks", brief, content_type="application/json", headers={"X-CSRFToken": token})
    assert created.status_code == 201
    assert GenerationTask.objects.count() == 1


def test_a_jwt_authenticated_api_post_needs_no_token():
    users = make_actors()
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/tasks", {"topic": "A brief sent with a token"}, content_type="application/json",
                           headers={"Authorization": f"Bearer {AccessToken.for_user(users['editor'])}"})
    assert response.status_code == 201
