"""WebSocket consumers: one task's progress, or every task a user may see, as it happens.

Routes (tasks/routing.py): `/ws/tasks/<id>` and `/ws/tasks`. After the handshake the server sends
a snapshot, then one `{"type": "event", "event": {...}}` frame per `TaskEvent`, only ever after
the transaction that wrote it committed (tasks/events.py broadcasts on commit).

No gap, no duplicate: a consumer joins its channel-layer group *before* it reads the database,
so every event committed after the read is also broadcast to it, and it remembers the highest
sequence it sent, dropping live events at or below it. While it reads the database (the snapshot,
a catch-up) live events wait in its channel: channels dispatches a consumer's messages one at a
time, so that channel is the buffer, and once the read is sent they are filtered by sequence. On
the single-task route a live event that skips sequences (two processes emitting for one task can
broadcast out of order) first brings the missing ones from the database, where they are already
committed (sequences are assigned under the task's row lock), so a client sees 1, 2, 3, ...
A live event that never came (the channel layer was away) is sent from the database after the
next periodic access check, so a task that ended meanwhile is not shown running: the task socket
sends the events stored since the last one it sent; the list socket, which sends no history,
sends a snapshot frame of the tasks whose state moved past what it last told the client of them
(`AllTasksConsumer.send_missed`).

Close codes: 4401 no valid credentials, 4404 no such task *or* one the user may not see (the API
answers 404 for both, and so does the socket: it must not tell them apart), 4400 a malformed
`after` parameter (a refused Origin gets 4403 in tasks/ws_auth.py), 4429 when the user already
has PRESSROOM_WS_MAX_SOCKETS_PER_USER sockets open on this process (`OpenSockets`). Access is checked again
while the socket is open (`_TaskWatcher.recheck`): every PRESSROOM_WS_RECHECK_SECONDS, when an
access token expires, and before every catch-up, in a worker thread. The user is read again from
the database with their session or token (tasks.ws_auth.current_user, never the cached user or its
permission cache) and so is their visibility (tasks.visibility, the one rule): authentication
gone (deactivated, logged out, session expired, token expired or revoked) closes with 4401; a task
socket whose task the user may no longer see closes with 4403; the list socket stops sending the
events of tasks the user may no longer see (an active user always sees their own tasks, so it
never closes for that alone).

Client frames: `{"type": "ping"}` and, on the single-task route, `{"type": "catch_up", "after": N}`
(at most CATCH_UP_LIMIT in CATCH_UP_WINDOW_SECONDS per socket); anything else, or a catch-up over
the limit, gets an error frame, and the socket stays open.

Imports flow from `tasks` only: the consumers read tasks and events, never content or publishing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Executor, Future
from datetime import timedelta
from urllib.parse import parse_qs

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import connections
from django.utils import timezone

from config.outages import is_outage, outage_summary
from tasks import metrics
from tasks.events import ALL_TASKS_GROUP, event_payload, task_group
from tasks.models import GenerationTask, Status, TaskEvent
from tasks.visibility import TaskVisibility
from tasks.ws_auth import BEARER_SUBPROTOCOL, credentials_user, current_user, has_credentials

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429  # as HTTP 429: the user has as many sockets open as one may
CLOSE_SERVER_ERROR = 1011  # access could not be checked (database unreachable): the client may retry

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
CATCH_UP_BATCH = 500
# A socket's catch-ups in any CATCH_UP_WINDOW_SECONDS: each re-reads the user, their access and up
# to every event of the task, so a client repeating them turned 30-byte frames into thousands of
# event frames and queries. A client that lost events needs one after each gap, not dozens.
CATCH_UP_LIMIT = 10
CATCH_UP_WINDOW_SECONDS = 60.0
SNAPSHOT_MAX_TASKS = 200
SNAPSHOT_RECENT_FINISHED = 50
RECENT_FRAMES = 1024  # encoded event frames kept for the other watchers of the same event
# Tasks whose last sent sequence a `/ws/tasks` socket remembers, the most recently heard of: it
# remembered every task it ever heard of, ~125 bytes each (24,000 tasks, ~3 MB a socket), for as
# long as the socket stayed open (a day). An entry only stops a repeat of what was already sent,
# and a task's next event has a higher sequence anyway, so a task forgotten loses nothing.
LAST_SENT_TASKS = 10_000
# What a `/ws/tasks` socket reads again after each periodic access check to find the states its
# client missed (`_missed_task_states`): the tasks it told the client of most recently, the
# running ones and those created since it opened, each part bounded by an index's first rows.
CATCH_UP_TOLD_TASKS = SNAPSHOT_MAX_TASKS  # as many as an opening snapshot tells at the most
CATCH_UP_RUNNING_TASKS = 200
CATCH_UP_NEW_TASKS = 200
# How long before the socket opened a task may have been created (its `created_at`, taken by the
# writer before its transaction commits) and still be new to the socket: a creation whose
# transaction was still open when the snapshot was read commits later than its `created_at` says.
CREATED_LOOKBACK = timedelta(minutes=5)
# A state a catch-up finds ahead of what the client was told is sent by the first catch-up at
# least this long after the one that found it, if the client has still not been told by then:
# its event may be on its way (committed, its broadcast not yet here), and the event frame says
# more than the state (its kind, which the live pages act on). With the default re-check period
# that is the next check; only a short period (tests) makes the wait longer than one period.
CATCH_UP_GRACE_SECONDS = 2.0
_recent_frames: OrderedDict[tuple[str, int], str] = OrderedDict()

SNAPSHOT_FIELDS = (
    "id", "title", "topic", "status", "phase", "progress", "approval_status", "event_sequence", "error",
    "cancel_requested_at", "created_by_id", "created_at",
)


class FrameError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# --- Reads (run on the consumers' database thread: `socket_read`) -----------------------------

def task_state(task: GenerationTask) -> dict:
    return {
        "id": str(task.pk),
        "title": task.title,
        "topic": task.topic,
        "status": task.status,
        "phase": task.phase,
        "progress": task.progress,
        "approval_status": task.approval_status,
        "last_event_sequence": task.event_sequence,
        "error": task.error,
        "cancel_requested": task.cancel_requested_at is not None,
        "created_at": task.created_at.isoformat(),  # the task lists add a row for a task created since they were rendered
    }


def client_event(payload: dict) -> dict:
    """An event as clients get it: without the owner (it is for routing only), with `time`."""
    return {
        "task": payload["task"],
        "sequence": payload["sequence"],
        "kind": payload["kind"],
        "status": payload["status"],
        "phase": payload["phase"],
        "progress": payload["progress"],
        "message": payload["message"],
        "data": payload["data"],
        "time": payload["created_at"],
    }


class SocketReadThreads(Executor):
    """The threads the consumers read the database on, each keeping its connection while busy.

    channels runs every `database_sync_to_async` call of a process on one thread
    (thread-sensitive), so a burst of handshakes queues behind each other's round trips: ~50
    handshakes/s before issue 13. The sockets' reads touch no shared state but the database, so
    they run here on PRESSROOM_WS_DB_THREADS threads at once instead, each with its own
    connection (Django's connections are per thread). And where channels closes the connection
    after every call when DATABASE_CONN_MAX_AGE is 0 (as Django does after each request: one
    new PostgreSQL connection per read), a thread keeps its connection between reads, closes it
    once it is broken (a database restart; `_close_broken_connections`) and when it has had no
    work for IDLE_SECONDS: a busy server reuses a few connections, an idle one holds none.
    """

    IDLE_SECONDS = 2.0

    def __init__(self, threads: int):
        self.size = threads
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self._work.put((future, fn, args, kwargs))
        with self._lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(target=self._serve, name=f"socket-read-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _serve(self) -> None:
        while True:
            try:
                future, fn, args, kwargs = self._work.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                connections.close_all()  # idle: hold no connection
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as error:  # noqa: BLE001 (handed to the awaiting coroutine)
                future.set_exception(error)


_read_threads: SocketReadThreads | None = None


def read_threads() -> SocketReadThreads:
    global _read_threads
    if _read_threads is None:
        _read_threads = SocketReadThreads(settings.PRESSROOM_WS_DB_THREADS)
    return _read_threads


class _SocketDatabaseRead(SyncToAsync):
    """channels' `database_sync_to_async` for the consumers, on `SocketReadThreads`: a broken
    connection is closed before and after each read, a working one is kept."""

    def __init__(self, function):
        super().__init__(function, thread_sensitive=False, executor=read_threads())

    def thread_handler(self, loop, *args, **kwargs):
        _close_broken_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _close_broken_connections()


def _close_broken_connections() -> None:
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.settings_dict["CONN_MAX_AGE"] != 0:
            conn.close_if_unusable_or_obsolete()  # Django's own rule, lifetime included
        elif not conn.is_usable():  # no round trip unless the server sent something (config/postgresql)
            conn.close()  # the server ended it (a restart) before this thread's next read used it


def socket_read(function):
    """A coroutine function running `function` on the sockets' read threads (`SocketReadThreads`)."""

    async def read(*args, **kwargs):
        return await _SocketDatabaseRead(function)(*args, **kwargs)

    read.func = function
    return functools.wraps(function)(read)


def event_frame(payload: dict) -> str:
    """The text frame of an event, encoded once per process however many sockets it goes to.

    An event is immutable once committed (task and sequence name it), and every watcher gets the
    same frame, so the last few encodings are kept: the first socket to send an event encodes it,
    the other watchers of the task reuse the text.
    """
    key = (payload["task"], payload["sequence"])
    frame = _recent_frames.get(key)
    if frame is None:
        frame = json.dumps({"type": "event", "event": client_event(payload)}, separators=(",", ":"))
        _recent_frames[key] = frame
        if len(_recent_frames) > RECENT_FRAMES:
            _recent_frames.popitem(last=False)
    return frame


class OpenSockets:
    """How many sockets each user holds open on this process, and the bound on it.

    Every open socket costs the process memory, a channel-layer group membership and a read of
    the user and their access every PRESSROOM_WS_RECHECK_SECONDS on the sockets' few database
    threads; one account with a script opened 500 in a few seconds (~18 re-checks a second), and
    nothing stopped it short of the process's file descriptors (20,000 here), while a person's
    pages need one socket each. Counted per process: the handshakes and the sockets are this
    process's, and counting them here needs no round trip (several Daphne processes allow each
    user the bound on each).
    """

    def __init__(self):
        self.by_user: dict[int, int] = {}

    def admit(self, user_id: int) -> bool:
        """Count one more socket of the user, or refuse (False) when they hold the bound already.
        Runs on the event loop between awaits, so concurrent handshakes are counted one by one."""
        held = self.by_user.get(user_id, 0)
        if held >= settings.PRESSROOM_WS_MAX_SOCKETS_PER_USER:
            return False
        self.by_user[user_id] = held + 1
        return True

    def release(self, user_id: int) -> None:
        held = self.by_user.get(user_id, 0) - 1
        if held > 0:
            self.by_user[user_id] = held
        else:
            self.by_user.pop(user_id, None)


open_sockets = OpenSockets()


@socket_read
def _open_task(scope, task_id) -> tuple[object, GenerationTask | None]:
    """(user, the task if they may see it, else None) in the handshake's one trip to the database;
    (None, None) when the credentials name nobody who may use them.

    An active user sees their own tasks whatever their permissions (tasks.visibility), so the
    permission queries of `TaskVisibility.of` run only for someone else's task: a handshake on
    one's own task is two statements (the user, the task).
    """
    user = credentials_user(scope)
    if user is None:
        return None, None
    task = GenerationTask.objects.only(*SNAPSHOT_FIELDS).filter(pk=task_id).first()
    if task is None or (task.created_by_id != user.pk and not TaskVisibility.of(user).allows(task.created_by_id)):
        return user, None
    return user, task


@socket_read
def _open_all_tasks(scope) -> tuple[object, TaskVisibility, list[dict], object]:
    """(user, what they may see, the snapshot of their tasks, when it was read) in the handshake's
    one trip to the database."""
    user = credentials_user(scope)
    if user is None:
        return None, TaskVisibility(), [], None
    read_at = timezone.now()  # before the read: a task created after it is new to the socket
    visibility = TaskVisibility.of(user)
    return user, visibility, _visible_task_states(visibility), read_at


@socket_read
def _access_now(scope, owner_id=None) -> TaskVisibility | None:
    """What the connection's user may see as of now, read afresh; None when their authentication is gone.

    `owner_id`: the owner of the one task the caller asks about (the single-task socket). When
    that is the user, their permissions are not read (an active user sees their own tasks), and
    the visibility returned answers only that question.
    """
    user = current_user(scope)
    if user is None:
        return None
    if owner_id is not None and owner_id == user.pk:
        return TaskVisibility(user_id=user.pk)
    return TaskVisibility.of(user)


def _visible_task_states(visibility: TaskVisibility) -> list[dict]:
    """The user's queued and running tasks, then the most recently updated others."""
    visible = visibility.filter(GenerationTask.objects.only(*SNAPSHOT_FIELDS)).order_by("-updated_at")
    active_statuses = [Status.QUEUED, Status.RUNNING]
    active = list(visible.filter(status__in=active_statuses)[:SNAPSHOT_MAX_TASKS])
    room = min(SNAPSHOT_RECENT_FINISHED, SNAPSHOT_MAX_TASKS - len(active))
    others = list(visible.exclude(status__in=active_statuses)[:room]) if room else []
    return [task_state(task) for task in active + others]


@socket_read
def _missed_task_states(visibility: TaskVisibility, told: dict, opened_at) -> list[dict]:
    """The states of the visible tasks whose last event is past what the socket told its client of
    them (`told`: task id → the sequence last sent; a task not in it was never told), in one
    statement that reads at most CATCH_UP_TOLD_TASKS + CATCH_UP_RUNNING_TASKS + CATCH_UP_NEW_TASKS
    rows, each part through an index:

    - the CATCH_UP_TOLD_TASKS tasks told most recently (`told` is in the order they were told):
      the client shows them as it was told, e.g. running when the task has ended since;
    - the running tasks, the CATCH_UP_RUNNING_TASKS updated most recently: they change by themselves;
    - the tasks created since the socket opened (CREATED_LOOKBACK before it), the
      CATCH_UP_NEW_TASKS newest: a task created and ended between two checks is in no other part.

    Each task is compared with what was sent of it, not with a time or an id: event sequences
    are a task's own, dense, and committed with the row, so a transaction that commits late
    cannot hide a change behind a watermark. A task past every bound (told less recently than the
    last CATCH_UP_TOLD_TASKS, not running, created before the socket opened) is not read: its
    next live event, or the next snapshot (a reconnect), brings it.
    """
    tasks = visibility.filter(GenerationTask.objects.only(*SNAPSHOT_FIELDS)).order_by()
    recently_told = tasks.filter(pk__in=list(told)[-CATCH_UP_TOLD_TASKS:])
    running = tasks.filter(status=Status.RUNNING).order_by("-updated_at")[:CATCH_UP_RUNNING_TASKS]
    created = tasks.filter(created_at__gte=opened_at - CREATED_LOOKBACK).order_by("-created_at")[:CATCH_UP_NEW_TASKS]
    # A UNION of the three, not an OR of them: PostgreSQL reads an OR of subqueries by scanning the
    # whole table (17 ms at 20,000 tasks), each part of the UNION through its index.
    candidates = recently_told.union(running, created).order_by("created_at", "pk")
    return [task_state(task) for task in candidates if task.event_sequence > told.get(str(task.pk), 0)]


@socket_read
def _events_between(task_id, after: int, before: int | None) -> list[dict]:
    """Up to CATCH_UP_BATCH events of the task with after < sequence (< before), in order."""
    events = TaskEvent.objects.filter(task_id=task_id, sequence__gt=after)
    if before is not None:
        events = events.filter(sequence__lt=before)
    return [event_payload(event) for event in events.order_by("sequence")[:CATCH_UP_BATCH]]


def _sequence(value) -> int | None:
    """`value` as a sequence number to catch up after (a JSON integer ≥ 0), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- Consumers --------------------------------------------------------------------------------

class _ClosesCounted(AsyncWebsocketConsumer):
    """A consumer whose every close is counted by its code (`pressroom_websocket_closed_by_server`)."""

    async def close(self, code=None, reason=None):
        metrics.websocket_closed_by_server(code)
        await super().close(code=code, reason=reason)


class _TaskWatcher(_ClosesCounted):
    """What both routes share: authentication, groups, client frames, JSON out."""

    user = None  # set once the connection is authenticated and allowed
    counted_user_id = None  # whose socket this is in `open_sockets`, once admitted

    async def __call__(self, scope, receive, send):
        """channels' consumer, with a channel layer that cannot be reached as the socket opens
        answered as a database outage is: the handshake accepted, then closed with 1011, one line
        in the log. channels subscribes the socket's own channel before any handler runs, and with
        Redis away channels_redis raised there, so Daphne answered the handshake with HTTP 500 and a
        traceback. An error after the handshake was accepted is not this one, and ends the
        consumer as before."""
        accepted = False

        async def send_noting_accept(message):
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        try:
            await super().__call__(scope, receive, send_noting_accept)
        except Exception as error:
            if accepted or not is_outage(error):
                raise
            logger.warning("WebSocket %s: the channel layer could not be reached (%s); closing with %s.",
                           scope.get("path"), outage_summary(error), CLOSE_SERVER_ERROR)
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_SERVER_ERROR})
                metrics.websocket_closed_by_server(CLOSE_SERVER_ERROR)

    async def connect(self):
        self.joined: list[str] = []
        offered = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None)
        metrics.websocket_opened(self)
        if not has_credentials(self.scope):  # no token, an invalid one, or no session cookie
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            user = await self.start()
        except BaseException:
            # The consumer ends with this error and is never told of a disconnect: forget the
            # socket here (the open-socket gauge, the user's share of sockets) as a close would.
            self._forget_socket()
            raise
        if user is not None:
            self.scope["user"] = user  # whom the re-checks compare the credentials' user with
            self.user = user
            self.watchdog = asyncio.create_task(self.recheck_periodically())

    async def start(self):
        """Join the groups, then in one trip to the database read the user, their access and the
        snapshot, and send it; return the user, or close with a code and return None if refused.

        The groups are joined first so that every event committed after the read reaches this
        socket too (see the module's docstring); a refused socket leaves them when it closes.
        """
        raise NotImplementedError

    async def refuse(self, code: int) -> None:
        await self.close(code=code)

    def admit(self, user) -> bool:
        """Count this socket as one of `user`'s (`OpenSockets`); False when they hold the bound."""
        if not open_sockets.admit(user.pk):
            logger.warning("WebSocket %s refused with %s: user %s already holds %s sockets on this process",
                           self.scope.get("path"), CLOSE_TOO_MANY, user.pk,
                           settings.PRESSROOM_WS_MAX_SOCKETS_PER_USER)
            return False
        self.counted_user_id = user.pk
        return True

    def refusal(self, visibility: TaskVisibility) -> int | None:
        """The close code once the still-authenticated user may see only what `visibility` allows, or None to go on."""
        raise NotImplementedError

    async def recheck_periodically(self) -> None:
        """Check access every PRESSROOM_WS_RECHECK_SECONDS, and when the access token expires."""
        token = self.scope.get("access_token")
        expires = token["exp"] if token is not None else None
        # The first check comes at a random point of the first period (never later than one
        # period, as promised): sockets opened together (a reconnecting crowd, a benchmark)
        # would otherwise all re-check together, one period later, again and again.
        delay = settings.PRESSROOM_WS_RECHECK_SECONDS * random.random()
        while self.user is not None:
            if expires is not None:
                delay = min(delay, max(0.0, expires - time.time()))
            await asyncio.sleep(delay)
            if await self.recheck():
                await self.catch_up_periodically()
            delay = settings.PRESSROOM_WS_RECHECK_SECONDS

    async def catch_up_periodically(self) -> None:
        """Send what the client missed (`send_missed`), after each periodic access check.

        A live event that never came (the channel layer away: Redis stopped, a broadcast that
        failed) was caught up only with the task's next event on `/ws/tasks/{id}`, and only at a
        reconnect on `/ws/tasks`, so a watcher of a task that ended meanwhile showed it running
        for as long as it stayed open. Now it has it within PRESSROOM_WS_RECHECK_SECONDS. Under
        `sending`, as live events are: the watchdog runs beside the consumer's messages, and both
        move `last_sent`.
        """
        async with self.sending:
            if self.user is None:
                return
            try:
                await self.send_missed()
            except Exception as error:  # noqa: BLE001 (the database away since the check: as a failed check)
                logger.warning("WebSocket %s: what the client missed could not be read (%s); closing.",
                               self.scope.get("path"), outage_summary(error))
                self.user = None
                await self.close(code=CLOSE_SERVER_ERROR)

    async def send_missed(self) -> None:
        """Send what was stored since the client was last told (the caller holds `sending`)."""
        raise NotImplementedError

    async def recheck(self) -> bool:
        """Check that the user may still watch (see the module's docstring); close and return False if not."""
        try:
            visibility = await _access_now(self.scope, getattr(self, "owner_id", None))
        except Exception as error:  # noqa: BLE001 (a database outage: fail closed, the client reconnects)
            logger.warning("WebSocket %s: access could not be checked again (%s); closing.",
                           self.scope.get("path"), error)
            code = CLOSE_SERVER_ERROR
        else:
            if self.user is None:  # closed meanwhile
                return False
            code = CLOSE_UNAUTHENTICATED if visibility is None else self.refusal(visibility)
        if code is None:
            return True
        if self.user is not None:
            self.user = None  # from now on nothing more is sent
            await self.close(code=code)
        return False

    async def dispatch(self, message):
        """channels' dispatch without the database clean-up it runs around every message.

        channels (≥ 4.2) calls `close_old_connections` in the sync worker thread before each
        message a consumer handles: one trip to that thread per live event per watcher (a
        thousand trips for an event watched by a thousand sockets, one after another on the one
        thread), each closing the thread's connection when DATABASE_CONN_MAX_AGE is 0. Most
        messages here touch no database at all, and the reads that do look after their own
        connection (`socket_read`).
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        """As channels' own, without its `close_old_connections` (see `dispatch`); the groups
        are left in `disconnect`."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    def _forget_socket(self) -> None:
        """Uncount the socket: the open-socket gauge and its user's share (`open_sockets`)."""
        metrics.websocket_closed(self)
        self.user = None
        if self.counted_user_id is not None:
            open_sockets.release(self.counted_user_id)
            self.counted_user_id = None

    async def disconnect(self, code):
        self._forget_socket()
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.append(group)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send_event(self, payload: dict) -> None:
        await self.send(text_data=event_frame(payload))

    # --- client frames ---
    async def receive(self, text_data=None, bytes_data=None):
        if self.user is None:
            return
        try:
            frame = self.parse(text_data)
            kind = frame.get("type")
            if not isinstance(kind, str) or kind not in self.client_types:
                raise FrameError("unknown_type", f"Unknown frame type {kind!r}; this route takes "
                                 f"{', '.join(sorted(self.client_types))}.")
            await getattr(self, f"on_{kind}")(frame)
        except FrameError as error:
            await self.send_json({"type": "error", "error": {"code": error.code, "message": str(error)}})

    client_types = frozenset({"ping"})

    @staticmethod
    def parse(text_data: str | None) -> dict:
        if text_data is None:
            raise FrameError("bad_frame", "Frames must be JSON text, not binary.")
        if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
            raise FrameError("bad_frame", f"Frames may be at most {MAX_FRAME_BYTES} bytes.")
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: deeply nested arrays
            raise FrameError("bad_frame", "Frames must be JSON.") from None
        if not isinstance(frame, dict):
            raise FrameError("bad_frame", "Frames must be JSON objects.")
        return frame

    async def on_ping(self, frame: dict) -> None:
        await self.send_json({"type": "pong"})


class TaskConsumer(_TaskWatcher):
    """`/ws/tasks/<id>[?after=N]`: one task's snapshot, its missed events, then its live events."""

    client_types = frozenset({"ping", "catch_up"})

    async def start(self):
        try:
            task_id = uuid.UUID(self.scope["url_route"]["kwargs"]["task_id"])
        except ValueError:
            return await self.refuse(CLOSE_NOT_FOUND)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        after = None
        if "after" in query:
            raw = query["after"][0]
            # No sequence number has 30 digits; past 4,300 Python would not even read one.
            after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 30 else None
            if after is None:
                return await self.refuse(CLOSE_BAD_REQUEST)
        await self.join(task_group(task_id))
        user, task = await _open_task(self.scope, task_id)
        if user is None:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        if task is None:  # as the API: "not yours" is told as "no such task"
            return await self.refuse(CLOSE_NOT_FOUND)
        if not self.admit(user):
            return await self.refuse(CLOSE_TOO_MANY)
        self.task_id = task_id
        self.owner_id = task.created_by_id
        self.sending = asyncio.Lock()  # live events and periodic catch-ups, one at a time
        await self.send_json({"type": "snapshot", "task": task_state(task)})
        self.last_sent = task.event_sequence
        if after is not None:
            self.last_sent = after
            await self.send_stored_events(after=after)
        return user

    def refusal(self, visibility: TaskVisibility) -> int | None:
        return None if visibility.allows(self.owner_id) else CLOSE_FORBIDDEN

    async def send_stored_events(self, *, after: int, before: int | None = None) -> None:
        """Send the stored events between `after` and `before` in order, and note the last one."""
        while True:
            batch = await _events_between(self.task_id, after, before)
            for payload in batch:
                await self.send_event(payload)
                after = payload["sequence"]
            self.last_sent = max(self.last_sent, after)
            if len(batch) < CATCH_UP_BATCH:
                return

    async def task_event(self, message: dict) -> None:
        """A live event from the channel layer (tasks.events.broadcast)."""
        payload = message["event"]
        sequence = payload["sequence"]
        if self.user is None:  # refused, or closed: `sending` may not even exist
            return
        async with self.sending:
            if self.user is None or sequence <= self.last_sent:
                return
            if sequence > self.last_sent + 1:
                if not await self.recheck():  # a replay from the database: only with access checked
                    return
                await self.send_stored_events(after=self.last_sent, before=sequence)
            await self.send_event(payload)
            self.last_sent = sequence

    async def send_missed(self) -> None:
        """The events stored since the last one sent."""
        await self.send_stored_events(after=self.last_sent)

    async def on_catch_up(self, frame: dict) -> None:
        after = _sequence(frame.get("after"))
        if after is None:
            raise FrameError("bad_frame", '"after" must be a non-negative integer.')
        self.count_catch_up()
        if await self.recheck():
            async with self.sending:
                await self.send_stored_events(after=after)

    def count_catch_up(self) -> None:
        """Note a catch-up, or refuse it (an error frame; the socket stays open) when the socket
        already made CATCH_UP_LIMIT of them in the last CATCH_UP_WINDOW_SECONDS."""
        now = time.monotonic()
        recent = [at for at in getattr(self, "catch_ups", ()) if now - at < CATCH_UP_WINDOW_SECONDS]
        if len(recent) >= CATCH_UP_LIMIT:
            wait = max(1, int(CATCH_UP_WINDOW_SECONDS - (now - recent[0])) + 1)
            raise FrameError("too_many_catch_ups", f"At most {CATCH_UP_LIMIT} catch-ups in "
                             f"{CATCH_UP_WINDOW_SECONDS:.0f} seconds; try again in {wait} s.")
        self.catch_ups = [*recent, now]


class AllTasksConsumer(_TaskWatcher):
    """`/ws/tasks`: a snapshot of the user's tasks, then live events of every task they may see,
    and after each periodic access check a snapshot frame of the tasks whose state the client
    missed (`send_missed`)."""

    async def start(self):
        await self.join(ALL_TASKS_GROUP)
        user, self.visibility, tasks, self.opened_at = await _open_all_tasks(self.scope)
        if user is None:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        if not self.admit(user):
            return await self.refuse(CLOSE_TOO_MANY)
        self.sending = asyncio.Lock()  # live events and periodic catch-ups, one at a time
        await self.send_json({"type": "snapshot", "tasks": tasks})
        self.last_sent = OrderedDict((task["id"], task["last_event_sequence"]) for task in tasks)
        # Task id → (what the client had been told of it, when a catch-up first found it ahead of that).
        self.behind: dict[str, tuple[int, float]] = {}
        return user

    def refusal(self, visibility: TaskVisibility) -> int | None:
        self.visibility = visibility  # events of tasks no longer visible stop here
        return None

    def told(self, task_id: str, sequence: int) -> None:
        """Note that the client was told of the task as of `sequence`."""
        self.last_sent[task_id] = sequence
        self.last_sent.move_to_end(task_id)
        if len(self.last_sent) > LAST_SENT_TASKS:
            self.last_sent.popitem(last=False)  # the task heard of least recently

    async def task_event(self, message: dict) -> None:
        payload = message["event"]
        if self.user is None or not self.visibility.allows(payload.get("owner")):
            return
        async with self.sending:
            task_id = payload["task"]
            if self.user is None or payload["sequence"] <= self.last_sent.get(task_id, 0):
                return
            self.told(task_id, payload["sequence"])
            await self.send_event(payload)

    async def send_missed(self) -> None:
        """A snapshot frame of the visible tasks whose state moved past what the client was told
        (`_missed_task_states`, with the visibility of the access check just made) and was
        already found so by a catch-up CATCH_UP_GRACE_SECONDS ago or more, if any: the live pages
        apply it as they apply the opening one, by each task's last event sequence."""
        told = dict(self.last_sent)
        ahead = await _missed_task_states(self.visibility, told, self.opened_at)
        now = time.monotonic()
        found = {}  # task id → since when it has been ahead of what the client was told of it
        for task in ahead:
            was_told, since = self.behind.get(task["id"], (None, now))
            found[task["id"]] = since if was_told == told.get(task["id"], 0) else now  # told more since: anew
        missed = [task for task in ahead if now - found[task["id"]] >= CATCH_UP_GRACE_SECONDS]
        self.behind = {task_id: (told.get(task_id, 0), since) for task_id, since in found.items()
                       if now - since < CATCH_UP_GRACE_SECONDS}
        if missed:
            await self.send_json({"type": "snapshot", "tasks": missed})
            for task in missed:
                self.told(task["id"], task["last_event_sequence"])


class UnknownPathConsumer(_ClosesCounted):
    """Any WebSocket path no route claims: accepted, then closed with 4404, like an unknown task."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
