"""The PostgreSQL channel layer (used when REDIS_URL is not set), on the project's own database.

channels_postgres carries messages in a table whose insert trigger sends NOTIFY; each process
LISTENs on one connection. It is used as is, with these changes that make it work here, and
one that makes it cheaper:

- Its settings come from a Django connection alias when the layer is built, not from a copy
  taken in settings.py: the library needs the normalised settings dict (TIME_ZONE, OPTIONS),
  which Django completes only after startup, and under pytest the connection already points at
  the test database.
- Its connection pool belongs to the layer instance. The library keeps one pool per process,
  tied to the event loop that opened it. A sync process (a django-q2 worker) that sends with
  `async_to_sync` runs every call on a new loop, so once the pool's first connections are
  recycled (max_lifetime, a database restart), their replacements are left to workers of a loop
  that has closed, and every later send waits 30 s and fails. With a pool per instance, the
  event broadcaster (`tasks.broadcaster`) keeps its instance, and its pool, on the one loop its
  thread runs for the life of the process, while the instance of an ASGI server keeps its pool
  on the server's loop.
- Leaving a group deletes the membership through that pool. The library does this with a
  Django database alias named "channels_postgres", which this project does not define.
- A group message is stored once per receiving *process*, not once per member channel, as
  channels_redis does: the row names the process (`specific.<prefix>!`) and carries the list of
  its member channels, and that process's listener hands the one decoded message to each of them.
  The library inserts a row per member, so an event watched by 1,000 sockets of one Daphne was
  1,000 inserts, 1,000 NOTIFYs of ~1 KiB and 1,000 decodes on the receiving side before the
  last watcher had it (issue 13); now it is one of each per Daphne process.
- A group send looks the group's members up once, and `group_send_batch` looks up the members
  of every group of several messages at once (the broadcaster's batches).
- Expired rows are deleted by one sweep a minute of each listening instance (`_sweep`), not by
  the task the library started on every `group_discard`, which slept 10–20 minutes before its
  DELETE: 4,000 sockets opened and closed on one Daphne left 4,000 such tasks (+26 MB) and as many
  DELETEs to come, and messages (a row each, kept after its NOTIFY carried it) were deleted only
  when some socket closed. A membership expires after GROUP_EXPIRY_SECONDS (a day, Daphne's
  `--websocket_timeout`: no socket outlives its membership) and is no longer sent to then; the
  library's default kept it for ever, so a Daphne stopped with sockets open (a restart, a crash)
  left memberships that had a row stored for every event of the site, and kept the broadcaster's
  batches "reached", from then on.
- A membership a socket could not delete as it closed (the database away: the pool's wait ran
  out, or the connection broke) is deleted by the next sweep that reaches the database, instead of
  staying until it expires and having a row stored for every event of its group meanwhile; the
  socket's close goes on as if it had been deleted (one WARNING line, no traceback), since nothing
  else can be done about it then. At most PENDING_DISCARDS_MAX are kept per instance (the oldest go
  first, and expire in a day anyway).
- `leave_every_group()` deletes every membership of the instance's channels in one statement:
  a stopping Daphne cancels its consumers, which then leave no group, so each restart left its
  open sockets' memberships behind (config/daphne_guards.py calls it as Daphne stops); only a
  process killed outright leaves memberships, until they expire.
- A channel's queue and its lock mark are dropped when its receiver stops (its consumer ended),
  and a message for a member that has left is dropped too: the library kept a queue per channel
  the process ever had, in a module-wide dict, and created one for a message that arrived after
  its socket closed, holding that message for good.

`close_pools()` closes the pool and the LISTEN connection; channels_redis has a method of the
same name, so callers need not care which layer they hold.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections import defaultdict
from datetime import timedelta

import psycopg
import psycopg_pool
from channels_postgres.core import ASYNCIO_EVENT_CHANNEL_MAPPING
from channels_postgres.core import PostgresChannelLayer as LibraryPostgresChannelLayer
from channels_postgres.db import GROUP_CHANNEL_TABLE, MESSAGE_TABLE, DatabaseLayer, utc_now
from psycopg import pq, sql

from config.outages import outage_summary
from config.postgresql.base import readable

logger = logging.getLogger(__name__)

# A server process rarely needs more than a few connections for group joins and sends; the
# broadcaster's instance, which sends one message at a time, needs exactly one.
DEFAULT_POOL_OPTIONS = {"min_size": 1, "max_size": 10}
RELISTEN_DELAY_SECONDS = 1
NOTIFY_CHANNEL = "channels_postgres_messages"  # the library's trigger NOTIFYs here
MEMBERS_KEY = "__asgi_channel__"  # the member channels of a per-process group message, as in channels_redis
GROUP_EXPIRY_SECONDS = 86400  # Daphne's --websocket_timeout: it closes every socket before its membership expires
SWEEP_SECONDS = 60  # how often a listening instance deletes expired messages and memberships
PENDING_DISCARDS_MAX = 10_000  # memberships left to the next sweep, per instance (see the docstring)
# What says the database could not be reached or the statement could not run then: a membership
# deletion that met one is tried again by the next sweep.
UNREACHED = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)


async def _check_pooled_connection(conn: psycopg.AsyncConnection) -> None:
    """The pool's check before it hands a connection out, by the rule of Django's connections
    (config/postgresql): one that is open and has nothing to read is usable as it is, with no round
    trip; one the server ended (a restart: its goodbye waits unread) fails psycopg_pool's own check,
    and the pool replaces it. Without it the first use of each idle connection after a database
    restart failed: a watcher's join (1011 to the client) or a worker's broadcast (lost)."""
    if conn.closed or conn.pgconn.status != pq.ConnStatus.OK or readable(conn):
        await psycopg_pool.AsyncConnectionPool.check_connection(conn)


class _InstanceDatabaseLayer(DatabaseLayer):
    """channels_postgres' database access with a pool of its own instead of the module's."""

    def __init__(self, *args, own_channels: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_channels = own_channels  # a LIKE pattern of the channel names new_channel() makes
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        self._closed = False

    async def get_db_pool(self, db_params) -> psycopg_pool.AsyncConnectionPool:
        if self._closed:
            raise RuntimeError("The channel layer is closed.")
        if self._pool is None:
            # Opened without waiting for connections (getconn waits for one), so no await
            # suspends between the check and the assignment: a caller cancelled while the pool
            # connects (a socket closed during its handshake) cannot leave behind a second
            # pool, or one that close() does not know of and whose workers outlive the loop.
            pool = psycopg_pool.AsyncConnectionPool(
                conninfo=psycopg.conninfo.make_conninfo("", **db_params),
                open=False,
                configure=_configure_connection,
                check=_check_pooled_connection,
                **self.psycopg_options,
            )
            await pool.open(wait=False)
            self._pool = pool
        return self._pool

    async def retrieve_non_expired_queued_messages(self) -> list[tuple[str, str, bytes, str]]:
        # Run when the listener (re)connects. The library takes the waiting messages of every
        # process's channels; a message too large for NOTIFY, which its own process still has
        # to fetch by id, would then vanish from under it. Only this instance's channels here.
        query = sql.SQL(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE expire > %s AND channel LIKE %s "
            "FOR UPDATE SKIP LOCKED) RETURNING id::text, channel, message, extract(epoch from expire)::text"
        ).format(table=sql.Identifier(MESSAGE_TABLE))
        pool = await self.get_db_pool(self.db_params)
        async with pool.connection() as conn:
            cursor = await conn.execute(query, (utc_now(), self.own_channels))
            return await cursor.fetchall()

    async def insert_messages(self, rows: list[tuple[str, bytes]], expire: int) -> None:
        """Store (channel, message) rows in one statement; the table's trigger NOTIFYs each."""
        expires = utc_now() + timedelta(seconds=expire)
        query = sql.SQL("INSERT INTO {} (channel, message, expire) VALUES (%s, %s, %s)").format(
            sql.Identifier(MESSAGE_TABLE)
        )
        pool = await self.get_db_pool(self.db_params)
        async with pool.connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(query, [(channel, message, expires) for channel, message in rows])

    async def retrieve_group_channels(self, group_key: str) -> list[str]:
        """The group's member channels whose membership has not expired."""
        query = sql.SQL("SELECT DISTINCT channel FROM {} WHERE group_key = %s AND expire > %s").format(
            sql.Identifier(GROUP_CHANNEL_TABLE))
        pool = await self.get_db_pool(self.db_params)
        async with pool.connection() as conn:
            return [row[0] for row in await (await conn.execute(query, (group_key, utc_now()))).fetchall()]

    async def delete_expired(self) -> None:
        """Delete the messages and memberships past their expiry, one statement each."""
        pool = await self.get_db_pool(self.db_params)
        now = utc_now()
        async with pool.connection() as conn:
            for table in (MESSAGE_TABLE, GROUP_CHANNEL_TABLE):
                await conn.execute(sql.SQL("DELETE FROM {} WHERE expire < %s").format(sql.Identifier(table)), (now,))

    async def delete_memberships_of_own_channels(self) -> int:
        pool = await self.get_db_pool(self.db_params)
        async with pool.connection() as conn:
            cursor = await conn.execute(sql.SQL("DELETE FROM {} WHERE channel LIKE %s").format(
                sql.Identifier(GROUP_CHANNEL_TABLE)), (self.own_channels,))
            return cursor.rowcount

    async def delete_memberships(self, pairs: list[tuple[str, str]]) -> None:
        """Delete the memberships named by (group key, channel) pairs, in one statement."""
        pool = await self.get_db_pool(self.db_params)
        async with pool.connection() as conn:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE (group_key, channel) IN (SELECT * FROM unnest(%s::text[], %s::text[]))")
                .format(sql.Identifier(GROUP_CHANNEL_TABLE)),
                ([key for key, _ in pairs], [channel for _, channel in pairs]),
            )

    async def delete_channel_group(self, group_key: str, channel: str) -> None:
        pool = await self.get_db_pool(self.db_params)
        async with pool.connection() as conn:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE group_key = %s AND channel = %s").format(
                    sql.Identifier(GROUP_CHANNEL_TABLE)
                ),
                (group_key, channel),
            )

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


async def _configure_connection(conn: psycopg.AsyncConnection) -> None:
    # Autocommit, as the library's own pool: every insert commits, and sends its NOTIFY, at once.
    await conn.set_autocommit(True)


class _WithoutEmptyGroupWarnings(logging.Filter):
    """The library warns on every send to a group nobody has joined; here that is the usual case
    (most tasks run with nobody watching), so the warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Group: %s does not exist"))


library_logger = logging.getLogger("channels_postgres.core")
library_logger.addFilter(_WithoutEmptyGroupWarnings())


class PostgresChannelLayer(LibraryPostgresChannelLayer):
    def __init__(self, *, database: str = "default", **config):
        from django.db import connections

        settings_dict = dict(connections[database].settings_dict)
        settings_dict["PSYCOPG_OPTIONS"] = {**DEFAULT_POOL_OPTIONS, **config.pop("PSYCOPG_OPTIONS", {})}
        super().__init__(**{"group_expiry": GROUP_EXPIRY_SECONDS, **config}, **settings_dict)
        # Django's connection parameters carry psycopg's prepare_threshold, which is not a libpq
        # option: the layer's connections (a few fixed statements) are made from a conninfo string.
        self.db_params.pop("prepare_threshold", None)
        self.django_db = _InstanceDatabaseLayer(
            settings_dict["PSYCOPG_OPTIONS"], self.db_params, logger=library_logger,
            own_channels=f"%.{self.client_prefix}!%",
        )
        self._listener: asyncio.Task | None = None
        self._sweeper: asyncio.Task | None = None
        self._pending_discards: dict[tuple[str, str], None] = {}  # insertion-ordered (group key, channel)

    def _get_or_create_listener_task(self) -> tuple[asyncio.Event, bool]:
        # The library starts a listener whenever a receive() finds none running yet, so channels
        # that start receiving together start one each, and every message arrives once per
        # listener. Here there is one per instance, kept so that close_pools() can stop it.
        if self.listener_task_is_running is None:
            self.listener_task_is_running = asyncio.Event()
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
            self._sweeper = asyncio.create_task(self._sweep())
        return self.listener_task_is_running, False

    async def _sweep(self) -> None:
        """Delete the memberships sockets could not delete and the expired messages and memberships
        every SWEEP_SECONDS, for as long as the layer listens (the first sweep at a random point of
        the first period, so servers started together do not sweep together)."""
        delay = SWEEP_SECONDS * random.random()
        while True:
            await asyncio.sleep(delay)
            delay = SWEEP_SECONDS
            try:
                await self.delete_pending_discards()
                await self.django_db.delete_expired()
            except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
                logger.warning("The channel layer could not delete expired rows; trying again in %s s: %s",
                               SWEEP_SECONDS, outage_summary(error), exc_info=not isinstance(error, UNREACHED))

    async def delete_pending_discards(self) -> int:
        """Delete the memberships `group_discard` could not; returns how many were pending. Those
        still pending if the database cannot be reached stay for the next sweep."""
        pairs = list(self._pending_discards)
        if pairs:
            await self.django_db.delete_memberships(pairs)
            for pair in pairs:
                self._pending_discards.pop(pair, None)
        return len(pairs)

    async def receive(self, channel: str) -> dict:
        """The library's receive; when the wait is cancelled (channels cancels it when the consumer
        ends, the assumption channels_redis makes too), the channel's queue and lock mark go."""
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            ASYNCIO_EVENT_CHANNEL_MAPPING.pop(channel, None)
            self._channel_advisory_locks.pop(channel, None)
            raise

    async def group_discard(self, group: str, channel: str, expire: int | None = None) -> None:
        """Leave the group: the membership is deleted, and nothing else is started (the library
        started a clean-up task per call; `_sweep` does it once a minute)."""
        assert self.require_valid_group_name(group), "Group name not valid"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        key = self._group_key(group)
        try:
            await self.django_db.delete_channel_group(key, channel)
        except UNREACHED as error:
            # See the module's docstring: the next sweep deletes it.
            self._pending_discards[key, channel] = None
            while len(self._pending_discards) > PENDING_DISCARDS_MAX:
                del self._pending_discards[next(iter(self._pending_discards))]
            logger.warning("Could not leave group %s for %s; the next sweep deletes the membership: %s",
                           group, channel, outage_summary(error))

    async def _get_or_create_channel_advisory_lock(self, channel: str) -> bool:
        # The library takes a PostgreSQL advisory lock per channel on a pooled connection and
        # keeps it until that connection closes, so a busy server fills the lock table. A
        # process-specific channel ("…!…", the only kind consumers use) is received only by the
        # process that made it (receive() checks the prefix), so it is simply marked as ours.
        if "!" in channel:
            self._channel_advisory_locks[channel] = True
            return True
        return await super()._get_or_create_channel_advisory_lock(channel)

    # --- one message per receiving process -----------------------------------------------------

    def _process_rows(self, channels: list[str], message: dict) -> list[tuple[str, bytes]]:
        """The rows that deliver `message` to `channels`: one per receiving process (its key
        `specific.<prefix>!` and its member channels), one per channel of any other kind."""
        members: dict[str, list[str]] = defaultdict(list)
        for channel in channels:
            members[self.non_local_name(channel)].append(channel)
        return [
            (key, self.serialize({**message, MEMBERS_KEY: names}) if key.endswith("!") else self.serialize(message))
            for key, names in members.items()
        ]

    async def group_send(self, group: str, message: dict) -> None:
        """Store `message` once per process that has members in `group` (see the module's
        docstring), after one lookup of the members: a single query when nobody has joined (the
        usual case, a task nobody watches)."""
        assert self.require_valid_group_name(group), "Group name not valid"
        channels = await self.django_db.retrieve_group_channels(self._group_key(group))
        if channels:
            await self.django_db.insert_messages(self._process_rows(channels, message), self.expiry)

    def _ours(self, channel: str) -> bool:
        """A process key (`specific.<prefix>!`) of this instance's channels."""
        return channel.endswith(f".{self.client_prefix}!")

    async def _message_bytes(self, payload: str) -> bytes | None:
        """The message a notification's payload (`id:channel[:base64:expires]`) carries: inline
        when it fit in the NOTIFY, else read (and deleted) from its row. None when it expired on
        the way or its row is gone."""
        parts = payload.split(":")
        if len(parts) == 4:
            return None if float(parts[3]) < time.time() else base64.b64decode(parts[2])
        row = await self.django_db.delete_message_returning_message(int(parts[0]))
        return None if row is None else row[0]

    async def _deliver(self, payload: str) -> None:
        """Put one notification's message where it belongs: each member's queue for a process
        message, else the channel's own queue (the library's way, decoded when received)."""
        channel = payload.split(":")[1]
        if not self._ours(channel):
            if self._channel_advisory_locks.get(channel, False):
                self._get_or_create_queue(channel).put_nowait(payload)
            return
        raw = await self._message_bytes(payload)
        if raw is None:
            return
        message = self.deserialize(raw)
        for member in message.pop(MEMBERS_KEY, ()):
            queue = ASYNCIO_EVENT_CHANNEL_MAPPING.get(member)
            if queue is not None:  # else the member left after the message was sent
                queue.put_nowait(message)

    async def _get_message_from_channel(self, channel: str, queue: asyncio.Queue) -> dict:
        while True:
            item = await queue.get()
            if isinstance(item, dict):  # delivered decoded by _deliver, shared by the process's members
                return item
            raw = await self._message_bytes(item)
            if raw is not None:
                return self.deserialize(raw)

    async def listen_to_all_channels(self) -> None:
        """The library's listener with per-process delivery (`_deliver`): first what waits in the
        table for this instance's channels, then each NOTIFY as it comes."""
        waiting = await self.django_db.retrieve_non_expired_queued_messages()
        waiting.sort(key=lambda row: int(row[0]))
        for message_id, channel, message, expires in waiting:
            await self._deliver(f"{message_id}:{channel}:{base64.b64encode(message).decode()}:{expires}")
        conninfo = psycopg.conninfo.make_conninfo("", **self.db_params)
        async with await psycopg.AsyncConnection.connect(conninfo=conninfo, autocommit=True) as connection:
            await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.listener_task_is_running.set()
            async for notification in connection.notifies():
                await self._deliver(notification.payload)

    async def _listen(self) -> None:
        """LISTEN for as long as the layer lives, connecting again when the connection is lost
        (a database restart); messages sent meanwhile are still in the table and are read then."""
        while True:
            try:
                await self.listen_to_all_channels()
                return
            except psycopg.OperationalError:
                logger.warning("The channel layer lost its LISTEN connection; connecting again", exc_info=True)
                await asyncio.sleep(RELISTEN_DELAY_SECONDS)

    async def leave_every_group(self) -> int:
        """Delete every membership of this instance's channels (its process is stopping); returns
        how many there were."""
        return await self.django_db.delete_memberships_of_own_channels()

    async def group_send_many(self, groups: list[str], message: dict) -> int:
        """`group_send` to several groups with one lookup of their members (the broadcaster
        sends every event to its task's group and to the all-tasks group)."""
        return await self.group_send_batch([(groups, message)])

    async def group_send_batch(self, batch: list[tuple[list[str], dict]]) -> int:
        """`group_send_many` for several messages, sent in order, with one lookup of the members
        of all their groups and one INSERT of all their rows: the broadcaster hands over what
        queued up while it was sending (a worker commits events faster than one query each), so
        nobody watching costs one query per batch instead of one per event. Returns the number of
        rows stored (one per receiving process and message): 0 when nobody has joined."""
        keyed = [([self._group_key(group) for group in groups if self.require_valid_group_name(group)], message)
                 for groups, message in batch]
        every_key = sorted({key for keys, _ in keyed for key in keys})
        query = sql.SQL("SELECT DISTINCT group_key, channel FROM {} WHERE group_key = ANY(%s) AND expire > %s").format(
            sql.Identifier(GROUP_CHANNEL_TABLE))
        pool = await self.django_db.get_db_pool(self.django_db.db_params)
        async with pool.connection() as conn:
            found = await (await conn.execute(query, (every_key, utc_now()))).fetchall()
        if not found:
            return 0
        members: dict[str, list[str]] = defaultdict(list)
        for group_key, channel in found:
            members[group_key].append(channel)
        rows = [row for keys, message in keyed for key in keys if members.get(key)
                for row in self._process_rows(members[key], message)]
        if rows:
            await self.django_db.insert_messages(rows, self.expiry)
        return len(rows)

    async def close_pools(self) -> None:
        listener, self._listener = self._listener, None
        sweeper, self._sweeper = self._sweeper, None
        # Cancelled again until it ends: on Python 3.11, asyncio.wait_for (used inside
        # psycopg_pool) can swallow a cancellation that arrives as its wait completes.
        for task in (listener, sweeper):
            while task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
        await self.django_db.close()
