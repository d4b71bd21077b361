"""Who may see a task, one table through every door: the queryset, the API, the admin and both sockets.

The rule is `tasks.visibility.TaskVisibility`: the creator and holders of `tasks.view_all_tasks`
(Reviewers, superusers) see a task; another editor, an inactive user (even a reviewer) and an
anonymous visitor do not. Each door is asked about the same task by the same users.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from publishing.roles import REVIEWERS
from tasks.models import GenerationTask
from tests.conftest import role
from tests.factories import make_user, submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, events_of, next_frame, own_channel_layer, record, run, seeded,
    token_for,
)

pytestmark = pytest.mark.django_db

SEES = {
    "creator": True,
    "other_editor": False,
    "reviewer": True,
    "superuser": True,
    "inactive": False,
    "anonymous": False,
}


@pytest.fixture
def inactive(db):
    user = make_user("gone")
    user.groups.add(role(REVIEWERS))  # would see every task, were the account active
    user.is_active = False
    user.save()
    return user


@pytest.fixture
def users(editor, other_editor, reviewer, superuser, inactive) -> dict:
    return {"creator": editor, "other_editor": other_editor, "reviewer": reviewer, "superuser": superuser,
            "inactive": inactive, "anonymous": None}


@pytest.fixture
def task(editor) -> GenerationTask:
    return submit_task(created_by=editor)


# One test per door, each walking the whole table: the users are made once (hashing passwords is slow).

def test_the_queryset_follows_the_table(users, task):
    seen = {who: GenerationTask.objects.visible_to(user or AnonymousUser()).filter(pk=task.pk).exists()
            for who, user in users.items()}
    assert seen == SEES
    # An inactive account does not even see the tasks it created.
    own = submit_task(created_by=users["inactive"])
    assert not GenerationTask.objects.visible_to(users["inactive"]).filter(pk=own.pk).exists()


def test_the_api_shows_the_task_exactly_to_those_the_table_allows(users, task):
    seen = {}
    for who, user in users.items():
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        detail = client.get(reverse("api:task_detail", kwargs={"task_id": task.pk}))
        listed = client.get(reverse("api:task_list"))
        ids = [row["id"] for row in listed.json()["results"]] if listed.status_code == 200 else []
        seen[who] = (detail.status_code == 200, str(task.pk) in ids)
    assert seen == {who: (sees, sees) for who, sees in SEES.items()}


def test_the_admin_shows_the_task_exactly_to_those_the_table_allows(users, task):
    seen = {}
    for who, user in users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        page = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk]))
        changelist = client.get(reverse("admin:tasks_generationtask_changelist"))
        listed = changelist.status_code == 200 and task in changelist.context["cl"].result_list
        seen[who] = (page.status_code == 200, listed)
    assert seen == {who: (sees, sees) for who, sees in SEES.items()}


def _socket(path: str, user):
    return communicator(path, token=None if user is None else token_for(user))


@pytest.mark.django_db(transaction=True)
def test_the_task_socket_opens_exactly_for_those_the_table_allows(users, task):
    seen = {}

    async def scenario():
        for who, user in users.items():
            ws = _socket(f"/ws/tasks/{task.pk}", user)
            await ws.connect(timeout=TIMEOUT)
            first = await ws.receive_output(timeout=TIMEOUT)
            seen[who] = first["type"] == "websocket.send" and json.loads(first["text"])["type"] == "snapshot"
            if not seen[who]:
                assert first.get("code") in (4401, 4404), first
            await ws.disconnect()

    run(scenario)
    assert seen == SEES


@pytest.mark.django_db(transaction=True)
def test_the_all_tasks_socket_shows_the_task_and_its_events_exactly_to_those_the_table_allows(users, task):
    # Each user's own task: its event, sent after the task's, comes first exactly when the task's does not.
    markers = {who: submit_task(created_by=user) for who, user in users.items() if user is not None and user.is_active}
    seen = {}

    async def scenario():
        for who, user in users.items():
            ws = _socket("/ws/tasks", user)
            await ws.connect(timeout=TIMEOUT)
            if who not in markers:
                assert await close_code(ws) == 4401
                seen[who] = (False, False)
                await ws.disconnect()
                continue
            snapshot = await next_frame(ws)
            await database_sync_to_async(record)(task, "the task's")
            await database_sync_to_async(record)(markers[who], "the marker's")
            received = [event["task"] for event in await events_of(ws, [task, markers[who]], 1)]
            if received != [str(markers[who].pk)]:  # the task's event came first: the marker's follows
                received += [event["task"] for event in await events_of(ws, [task, markers[who]], 1)]
            seen[who] = (str(task.pk) in [row["id"] for row in snapshot["tasks"]], received[0] == str(task.pk))
            await ws.disconnect()

    run(scenario)
    assert seen == {who: (sees, sees) for who, sees in SEES.items()}
