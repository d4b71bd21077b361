"""An open task WebSocket does not outlive its access (tasks/consumers.py, `_TaskWatcher.recheck`).

Access is checked again every PRESSROOM_WS_RECHECK_SECONDS (tiny here), when the access token
expires, and before every catch-up: authentication gone closes with 4401, a task no longer
visible with 4403, and the list socket stops sending the events of tasks no longer visible.
The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import OperationalError, transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt import authentication as jwt_authentication
from rest_framework_simplejwt.tokens import AccessToken

from tasks import consumers
from tasks.events import emit
from tasks.models import EventKind, GenerationTask
from tasks.visibility import TaskVisibility
from tests.factories import submit_task
from publishing.roles import REVIEWERS
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, arecord, close_code, communicator, events, events_of, next_frame, next_frame_of, nothing_more_of, opened,
    own_channel_layer, record, run, seeded, token_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

TINY_PERIOD = 0.1


@pytest.fixture
def checks(monkeypatch):
    """The results of every access re-check, in order, appended as each one completes."""
    done = []
    original = consumers._access_now

    async def counted(scope, *args):
        result = await original(scope, *args)
        done.append(result)
        return result

    monkeypatch.setattr(consumers, "_access_now", counted)
    return done


async def after_two_more(checks: list) -> None:
    """Wait until two re-checks completed after now: the second one began after whatever the test just changed."""
    target = len(checks) + 2
    for _ in range(int(TIMEOUT / 0.01)):
        if len(checks) >= target:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no re-check within {TIMEOUT} s")


def _update_user(user, **fields):
    type(user).objects.filter(pk=user.pk).update(**fields)


def _leave_reviewers(user):
    user.groups.remove(Group.objects.get(name=REVIEWERS))


@pytest.mark.parametrize("route", ["list", "task"])
def test_a_user_deactivated_while_watching_is_closed_with_4401_within_one_period(settings, editor, route):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    task = submit_task(created_by=editor)
    path = "/ws/tasks" if route == "list" else f"/ws/tasks/{task.pk}"

    async def scenario():
        ws = await opened(path, editor)
        assert (await next_frame(ws))["type"] == "snapshot"
        await database_sync_to_async(_update_user)(editor, is_active=False)
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


def test_a_reviewer_removed_from_reviewers_is_closed_with_4403_on_another_editors_task(settings, reviewer, other_editor):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    task = submit_task(created_by=other_editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", reviewer)
        assert (await next_frame(ws))["type"] == "snapshot"
        await database_sync_to_async(_leave_reviewers)(reviewer)
        assert await close_code(ws) == 4403
        await ws.disconnect()

    run(scenario)


def test_the_list_socket_stops_sending_events_of_tasks_no_longer_visible(settings, reviewer, other_editor, checks):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    others = submit_task(created_by=other_editor)
    own = submit_task(created_by=reviewer)

    async def scenario():
        ws = await opened("/ws/tasks", reviewer)
        assert (await next_frame(ws))["type"] == "snapshot"
        await arecord(others, "seen while a reviewer")
        assert [event["task"] for event in await events(ws, 1)] == [str(others.pk)]
        await database_sync_to_async(_leave_reviewers)(reviewer)
        await after_two_more(checks)
        await arecord(others, "not for them any more")
        await arecord(own, "their own")
        assert [event["task"] for event in await events(ws, 1)] == [str(own.pk)]  # the other's never came
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(scenario)


def _session(user) -> tuple[Client, tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    value = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return client, (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={value}".encode())


@pytest.mark.parametrize("ending", ["logout", "password change"])
def test_a_session_that_ended_closes_the_socket_with_4401(settings, editor, ending):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    task = submit_task(created_by=editor)
    client, cookie = _session(editor)

    def end_session():
        if ending == "logout":
            client.logout()  # flushes the session, as the admin's "Log out" does
        else:
            editor.set_password("a new password, elsewhere")
            editor.save(update_fields=["password"])

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", headers=[cookie])
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        assert (await next_frame(ws))["type"] == "snapshot"
        await database_sync_to_async(end_session)()
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


def test_an_access_token_ends_the_socket_at_its_expiry_not_at_the_next_periodic_check(settings, editor):
    settings.PRESSROOM_WS_RECHECK_SECONDS = 3600
    task = submit_task(created_by=editor)
    token = AccessToken.for_user(editor)
    token.set_exp(lifetime=timedelta(seconds=2))

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=str(token))
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        assert (await next_frame(ws))["type"] == "snapshot"
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


def test_an_access_token_revoked_by_a_password_change_closes_the_socket_with_4401(settings, monkeypatch, editor):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    # simplejwt's modules hold the api_settings object of their import (override_settings replaces
    # the module global only), so the flag is set on that object.
    monkeypatch.setattr(jwt_authentication.api_settings, "CHECK_REVOKE_TOKEN", True)
    task = submit_task(created_by=editor)

    def change_password():
        editor.set_password("a new password, elsewhere")
        editor.save(update_fields=["password"])

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(ws))["type"] == "snapshot"
        await database_sync_to_async(change_password)()
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("loss, code", [("left reviewers", 4403), ("deactivated", 4401)])
def test_a_catch_up_after_the_access_is_gone_is_refused(settings, reviewer, other_editor, loss, code):
    settings.PRESSROOM_WS_RECHECK_SECONDS = 3600  # only the catch-up checks
    task = submit_task(created_by=other_editor)

    def lose_access():
        if loss == "deactivated":
            _update_user(reviewer, is_active=False)
        else:
            _leave_reviewers(reviewer)

    async def scenario():
        await arecord(task, "in the history")
        ws = await opened(f"/ws/tasks/{task.pk}", reviewer)
        assert (await next_frame(ws))["type"] == "snapshot"
        await database_sync_to_async(lose_access)()
        await ws.send_json_to({"type": "catch_up", "after": 0})
        assert await close_code(ws) == code  # and not the history
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("route", ["list", "task"])
def test_a_recheck_the_database_cannot_answer_closes_the_socket_with_1011(settings, editor, monkeypatch, route):
    """The database away when access is due to be checked again: the socket closes with 1011 and the
    client reconnects with `after=`; it stayed open, sending nothing more, for as long as it lived."""
    from django.db import OperationalError

    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    task = submit_task(created_by=editor)
    path = "/ws/tasks" if route == "list" else f"/ws/tasks/{task.pk}"

    async def database_away(scope, *args):
        raise OperationalError("connection failed: Connection refused")

    async def scenario():
        ws = await opened(path, editor)
        assert (await next_frame(ws))["type"] == "snapshot"
        monkeypatch.setattr(consumers, "_access_now", database_away)
        assert await close_code(ws) == consumers.CLOSE_SERVER_ERROR
        await ws.disconnect()

    run(scenario)


def test_an_event_whose_broadcast_was_lost_reaches_the_open_task_socket_after_the_next_check(
        settings, editor, monkeypatch):
    """Redis away while the task ended: its last events were stored but never broadcast, and
    the socket, given no later event to notice the gap by, showed the task running for as long as
    it stayed open. Now the periodic access check is followed by a catch-up from the database."""
    from tasks import events as task_events

    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    task = submit_task(created_by=editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        snapshot = await next_frame(ws)
        monkeypatch.setattr(task_events, "broadcast", lambda *payloads: None)  # the channel layer lost them
        await arecord(task, "stored while the layer was away")
        await arecord(task, "the last one")
        got = await events(ws, 2)
        assert [event["message"] for event in got] == ["stored while the layer was away", "the last one"]
        assert [event["sequence"] for event in got] == [snapshot["task"]["last_event_sequence"] + 1,
                                                        snapshot["task"]["last_event_sequence"] + 2]
        monkeypatch.undo()
        await arecord(task, "live again")
        assert [event["message"] for event in await events(ws, 1)] == ["live again"], "once, not twice"
        assert await ws.receive_nothing(timeout=3 * TINY_PERIOD)
        await ws.disconnect()

    run(scenario)


# --- /ws/tasks: the states a lost broadcast never brought, after the next check ---------------------

@pytest.fixture
def layer():
    """`layer.away()`: events are stored, their broadcasts never reach a socket; `layer.back()`."""
    from tasks import events as task_events

    patch = pytest.MonkeyPatch()

    class Layer:
        @staticmethod
        def away():
            patch.setattr(task_events, "broadcast", lambda *payloads: None)

        back = staticmethod(patch.undo)

    yield Layer
    patch.undo()


@pytest.fixture
def short_grace(monkeypatch):
    """A catch-up sends a state found ahead GRACE seconds after it found it (tests: a few periods)."""
    monkeypatch.setattr(consumers, "CATCH_UP_GRACE_SECONDS", GRACE, raising=False)


GRACE = 3 * TINY_PERIOD


def _end(task, status: str = "completed") -> dict:
    """End the task as a worker does (its status and a status event, in one transaction); its state now."""
    with transaction.atomic():
        GenerationTask.objects.filter(pk=task.pk).update(status=status, phase="", progress=100,
                                                         finished_at=timezone.now())
        emit(GenerationTask.objects.get(pk=task.pk), EventKind.STATUS, message=f"The task is {status}.")
    return consumers.task_state(GenerationTask.objects.get(pk=task.pk))


def _created_and_ended(editor) -> tuple[GenerationTask, dict]:
    """A task created and ended in one transaction: between two checks, as a socket sees it."""
    with transaction.atomic():
        task = submit_task(created_by=editor)
        state = _end(task, "cancelled")
    return task, state


def _record_together(tasks) -> None:
    """An event of each task in one transaction: no catch-up sees some of them without the others."""
    with transaction.atomic():
        for task in tasks:
            record(task, "lost")


aend = database_sync_to_async(_end)


def test_a_state_whose_broadcast_was_lost_reaches_the_open_list_socket_after_the_next_check(
        settings, editor, layer, short_grace):
    """Redis away while a task ended: `/ws/tasks` had no later event of it to notice the gap by,
    and sends no history, so the dashboard showed the task running until a reload. Now, after the
    periodic access check, a snapshot frame brings its state, once."""
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    watched, quiet = submit_task(created_by=editor), submit_task(created_by=editor)

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        assert {task["id"] for task in (await next_frame(ws))["tasks"]} == {str(watched.pk), str(quiet.pk)}
        layer.away()
        ended = await aend(watched)
        assert await next_frame_of(ws, [watched]) == {"type": "snapshot", "tasks": [ended]}
        assert ended["status"] == "completed" and ended["last_event_sequence"] == 2
        layer.back()
        await arecord(watched, "live again")
        assert [(event["task"], event["sequence"]) for event in await events_of(ws, [watched], 1)] == [(str(watched.pk), 3)]
        assert await nothing_more_of(ws, [watched, quiet], 2 * GRACE), "each state once"
        await ws.disconnect()

    run(scenario)


def test_a_task_created_and_ended_while_the_layer_was_away_reaches_the_list_socket(
        settings, editor, layer, short_grace):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        assert (await next_frame(ws))["tasks"] == []
        layer.away()
        task, state = await database_sync_to_async(_created_and_ended)(editor)
        assert await next_frame_of(ws, [task]) == {"type": "snapshot", "tasks": [state]}
        assert (state["id"], state["status"]) == (str(task.pk), "cancelled")
        assert await nothing_more_of(ws, [task], 2 * GRACE)
        await ws.disconnect()

    run(scenario)


def test_the_list_socket_catches_up_no_task_the_user_may_no_longer_see(
        settings, reviewer, other_editor, layer, short_grace, checks):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    others, own = submit_task(created_by=other_editor), submit_task(created_by=reviewer)

    async def scenario():
        ws = await opened("/ws/tasks", reviewer)
        assert {task["id"] for task in (await next_frame(ws))["tasks"]} == {str(others.pk), str(own.pk)}
        layer.away()
        await database_sync_to_async(_leave_reviewers)(reviewer)
        await after_two_more(checks)
        await aend(others)
        own_state = await aend(own)
        assert await next_frame_of(ws, [others, own]) == {"type": "snapshot", "tasks": [own_state]}
        assert await nothing_more_of(ws, [others, own], 2 * GRACE)
        await ws.disconnect()

    run(scenario)


def test_a_live_event_on_its_way_while_a_catch_up_reads_is_sent_as_its_event_and_not_as_a_state(
        settings, editor, monkeypatch, short_grace):
    """A catch-up that reads a state whose event is committed but not yet broadcast holds it back
    for CATCH_UP_GRACE_SECONDS: the event comes, after the catch-up (one lock for both), and the
    state is not sent after it. The event says more than the state: its kind (created, approval,
    publication) is what the live pages act on."""
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    task = submit_task(created_by=editor)
    original = consumers._missed_task_states
    reading, release = asyncio.Event(), asyncio.Event()

    async def held(*args):
        if not release.is_set():
            reading.set()
            await release.wait()
        return await original(*args)

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        assert [t["last_event_sequence"] for t in (await next_frame(ws))["tasks"]] == [1]
        monkeypatch.setattr(consumers, "_missed_task_states", held)
        await asyncio.wait_for(reading.wait(), TIMEOUT)
        ended = await aend(task)  # committed and broadcast while the catch-up waits to read
        assert await nothing_more_of(ws, [task], 3 * TINY_PERIOD), "the live event waits for the catch-up"
        release.set()
        [event] = await events_of(ws, [task], 1)
        assert (event["task"], event["sequence"], event["kind"], event["status"]) == (
            str(task.pk), ended["last_event_sequence"], "status", "completed")
        assert await nothing_more_of(ws, [task], 2 * GRACE), "and the state it brings is not sent again"
        await ws.disconnect()

    run(scenario)


def test_a_list_catch_up_reads_the_tasks_told_most_recently_running_or_new_and_no_others(
        settings, editor, monkeypatch, layer, short_grace):
    """The bound: beyond the CATCH_UP_TOLD_TASKS told most recently (here 1), a task neither running
    nor created since the socket opened is not read again; its next live event or a reconnect brings it."""
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD
    monkeypatch.setattr(consumers, "CATCH_UP_TOLD_TASKS", 1, raising=False)
    monkeypatch.setattr(consumers, "CREATED_LOOKBACK", timedelta(0), raising=False)
    told_long_ago, running, told_last = (submit_task(created_by=editor) for _ in range(3))
    GenerationTask.objects.filter(pk=running.pk).update(status="running", phase="draft", progress=10)

    def state(task):
        return consumers.task_state(GenerationTask.objects.get(pk=task.pk))

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        await next_frame(ws)
        await arecord(running, "told")
        await arecord(told_last, "told last")
        assert [event["task"] for event in await events_of(ws, [running, told_last], 2)] == [
            str(running.pk), str(told_last.pk)]
        layer.away()
        await database_sync_to_async(_record_together)([told_long_ago, running, told_last])
        expected = [await database_sync_to_async(state)(task) for task in (running, told_last)]
        assert await next_frame_of(ws, [told_long_ago, running, told_last]) == {"type": "snapshot", "tasks": expected}
        assert await nothing_more_of(ws, [told_long_ago, running, told_last], 2 * GRACE), (
            "the task told long ago is past the bound")
        await ws.disconnect()

    run(scenario)


def test_a_list_catch_up_is_one_statement_however_many_tasks_it_reads(editor, django_assert_num_queries):
    tasks = [submit_task(created_by=editor) for _ in range(30)]
    for task in tasks[:10]:
        record(task, "moved")
    told = {str(task.pk): 1 for task in tasks}
    running = tasks[-1]
    GenerationTask.objects.filter(pk=running.pk).update(status="running")

    visibility = TaskVisibility.of(editor)

    with django_assert_num_queries(1):
        missed = consumers._missed_task_states.func(visibility, told, timezone.now())

    assert [state["id"] for state in missed] == [str(task.pk) for task in tasks[:10]]


def test_a_list_catch_up_the_database_cannot_answer_closes_the_socket_with_1011(settings, editor, monkeypatch):
    settings.PRESSROOM_WS_RECHECK_SECONDS = TINY_PERIOD

    async def database_away(*args):
        raise OperationalError("connection to server was lost")

    async def scenario():
        ws = await opened("/ws/tasks", editor)
        await next_frame(ws)
        monkeypatch.setattr(consumers, "_missed_task_states", database_away)
        assert await close_code(ws) == consumers.CLOSE_SERVER_ERROR
        await ws.disconnect()

    run(scenario)
