"""The process's sender of progress events: one event-loop thread that owns one channel layer.

`tasks.events.broadcast` runs in sync code: a django-q2 worker, a management command, a request
thread under Gunicorn, or Daphne's sync-view thread. Building a layer per call (what it did
before) cost a new loop, a new pool and new connections for every event: two Redis connections
per event, a PostgreSQL connection per event. Here a process gets one background thread running
one asyncio loop, and one layer instance lives on that loop for the life of the process, so its
connections (channels_redis pools per loop; the PostgreSQL layer's pool is the instance's) are
opened once and reused.

Messages go through one FIFO queue drained by one coroutine, in order, so a task's events reach
the layer in the order they were committed (what queued up meanwhile is handed over as one batch,
up to `BATCH_LIMIT`: on the PostgreSQL layer one lookup of the groups' members for the batch,
on Redis one pipeline); `send()` only enqueues and never waits for the network (the event row is
already durable: a watcher that misses a broadcast catches up from the database). The queue is
bounded; past `QUEUE_LIMIT` waiting messages (the layer's server is away) new ones are dropped with
a warning rather than growing memory.

Most tasks run with nobody watching, and a worker commits a transition every millisecond or two,
each handed over on its own: sent as they come, that was a member lookup (PostgreSQL) or a
pipeline (Redis) per transition, about half of an engine task's CPU. So when a batch reached
nobody (the layers count it: the rows the PostgreSQL layer stored, the subscribers Redis's
PUBLISHes reached) and nothing else waits, the sender waits `QUIET_WINDOW_SECONDS` before it
takes the next batch, and what queued up meanwhile goes as one (a burst of more than
`BATCH_LIMIT` is sent batch after batch without waiting). Nothing is skipped, since every batch
is still sent after its transaction committed; the cost is latency, and only for the first event
after someone starts watching (at most the window). A batch that reached anyone opens no window.

Life cycle:
- started lazily by the first `send()` in a process;
- after `fork()` (django-q2 forks its workers from the cluster process) a child never uses its
  parent's thread, loop or connections: the child starts a sender of its own on first use;
- rebuilt when the layer's configuration changes (tests switch `CHANNEL_LAYERS`, or move the
  database the PostgreSQL layer lives on);
- at exit (`multiprocessing`'s finalizers, which run in the main process at interpreter exit and
  in a django-q2 worker when it stops) waiting messages are sent for up to
  `FLUSH_AT_EXIT_SECONDS`, then the layer's connections are closed and the thread ends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from multiprocessing import util as multiprocessing_util

from config.outages import log_failure

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
BATCH_LIMIT = 100  # queued messages handed to the layer at once (one member lookup on PostgreSQL)
# After a batch that reached nobody (the layer says so), what queues up for this long goes to the
# layer as the next batch, instead of one batch per transition: see the module's docstring.
QUIET_WINDOW_SECONDS = 0.025
FLUSH_AT_EXIT_SECONDS = 5.0


def _layer_key():
    """What the default layer's instance depends on: its configuration and, for the PostgreSQL
    layer, where the database it uses lives. A change means the instance must be rebuilt."""
    from channels import DEFAULT_CHANNEL_LAYER
    from django.conf import settings
    from django.db import connections

    config = getattr(settings, "CHANNEL_LAYERS", {}).get(DEFAULT_CHANNEL_LAYER)
    if config is None:
        return None
    database = (config.get("CONFIG") or {}).get("database")
    where = None
    if database:
        db = connections.settings[database]
        where = (db.get("HOST"), db.get("PORT"), db.get("NAME"), db.get("USER"))
    return repr(config), where


class _Sender:
    """One started sender: the loop, its thread, the queue and the layer living on that loop."""

    def __init__(self, layer, key):
        self.layer = layer
        self.key = key
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        self.drainer: asyncio.Task | None = None
        self.thread: threading.Thread | None = None


class Broadcaster:
    """One layer instance on one background loop, fed by `send()` from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._running: _Sender | None = None
        self.sent = 0  # messages handed to the layer (tests and diagnostics)
        self.dropped = 0

    # --- any thread -----------------------------------------------------------------------
    def send(self, groups: list[str], message: dict) -> None:
        """Queue `message` for `groups`; returns at once. Does nothing without a channel layer."""
        self.send_many([(groups, message)])

    def send_many(self, items: list[tuple[list[str], dict]]) -> None:
        """Queue each `(groups, message)` of `items`, in order, with one wake-up of the loop (the
        events of one transition reach the layer together: one batch, one round trip)."""
        key = _layer_key()
        if key is None:
            return
        with self._lock:
            if self._running is not None and key != self._running.key:
                self._stop_locked(FLUSH_AT_EXIT_SECONDS)
            if self._running is None:
                self._start_locked(key)
            running = self._running
            running.loop.call_soon_threadsafe(self._enqueue, running, items)

    def flush(self, timeout: float = FLUSH_AT_EXIT_SECONDS) -> bool:
        """Wait until every message queued so far was handed to the layer; False on timeout."""
        with self._lock:
            running = self._running
        if running is None:
            return True
        future = asyncio.run_coroutine_threadsafe(running.queue.join(), running.loop)
        try:
            future.result(timeout)
            return True
        except Exception:  # TimeoutError, or the loop stopped meanwhile
            future.cancel()
            return False

    def close(self, timeout: float = FLUSH_AT_EXIT_SECONDS) -> None:
        """Send what waits (for up to `timeout` seconds), close the layer, end the thread."""
        if self._pid != os.getpid():
            return
        with self._lock:
            if self._running is not None:
                self._stop_locked(timeout)

    @property
    def layer(self):
        """The layer instance in use, or None when not started (tests)."""
        running = self._running
        return running.layer if running else None

    # --- starting and stopping (under the lock) -------------------------------------------
    def _start_locked(self, key) -> None:
        from channels import DEFAULT_CHANNEL_LAYER
        from channels.layers import channel_layers

        # Built here, in the caller's thread, where Django's settings and connections are the
        # ones the caller sees; it opens nothing until its first send on the loop.
        running = _Sender(channel_layers.make_backend(DEFAULT_CHANNEL_LAYER), key)
        ready = threading.Event()
        running.thread = threading.Thread(target=self._run, args=(running, ready), name="event-broadcaster",
                                          daemon=True)
        running.thread.start()
        ready.wait()
        self._running = running
        multiprocessing_util.Finalize(self, Broadcaster.close, args=(self,), exitpriority=10)

    def _stop_locked(self, timeout: float) -> None:
        running, self._running = self._running, None
        if not running.thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(running, timeout), running.loop)
        try:
            future.result(timeout + 5)
        except Exception:
            logger.warning("The event broadcaster did not shut down cleanly", exc_info=True)
        running.loop.call_soon_threadsafe(running.loop.stop)
        running.thread.join(timeout=5)
        if not running.thread.is_alive():
            running.loop.close()

    # --- the loop thread ------------------------------------------------------------------
    def _run(self, running: _Sender, ready: threading.Event) -> None:
        asyncio.set_event_loop(running.loop)
        running.queue = asyncio.Queue(maxsize=QUEUE_LIMIT)
        running.drainer = running.loop.create_task(self._drain(running))
        running.loop.call_soon(ready.set)
        running.loop.run_forever()

    def _enqueue(self, running: _Sender, items: list[tuple[list[str], dict]]) -> None:
        for groups, message in items:
            try:
                running.queue.put_nowait((groups, message))
            except asyncio.QueueFull:
                self.dropped += 1
                logger.warning("Broadcast queue full (%s waiting): event %s dropped; watchers catch up from the "
                               "database", QUEUE_LIMIT, message.get("event", {}).get("sequence"))

    async def _drain(self, running: _Sender) -> None:
        while True:
            batch = [await running.queue.get()]
            while len(batch) < BATCH_LIMIT and not running.queue.empty():
                batch.append(running.queue.get_nowait())
            try:
                reached = await self._send_batch(running.layer, batch)
            finally:
                for _ in batch:
                    running.queue.task_done()
            if reached == 0 and running.queue.empty():  # more waiting (a burst): sent at once
                await asyncio.sleep(QUIET_WINDOW_SECONDS)

    async def _send_batch(self, layer, batch: list[tuple[list[str], dict]]) -> int | None:
        """Send what waited, in order: in one call when the layer takes batches (the PostgreSQL
        layer's `group_send_batch`: one lookup of the groups' members for the whole batch; the
        Redis layer's: one pipeline), else, or when that fails, message by message, so one
        failing message loses only itself. Returns how many receivers the batch reached as the
        layer counts them (0: nobody watches), or None when that is not known."""
        send_batch = getattr(layer, "group_send_batch", None)
        if send_batch is not None:
            try:
                reached = await send_batch(batch)
                self.sent += len(batch)
                return reached
            except Exception as error:
                log_failure(logger, error, "Broadcast of %s queued events in one batch failed (%s); sending them one "
                            "by one", len(batch))
        for groups, message in batch:
            try:
                send_many = getattr(layer, "group_send_many", None)  # the PostgreSQL layer's
                if send_many is not None:
                    await send_many(groups, message)
                else:
                    for group in groups:
                        await layer.group_send(group, message)
                self.sent += 1
            except Exception as error:  # the event row is durable; watchers catch up from the database
                event = message.get("event", {})
                log_failure(logger, error, "Broadcast of event %s/%s failed (%s)", event.get("task"),
                            event.get("sequence"))
        return None

    async def _shutdown(self, running: _Sender, timeout: float) -> None:
        try:
            await asyncio.wait_for(running.queue.join(), timeout)
        except asyncio.TimeoutError:
            logger.warning("%s broadcasts still waiting at shutdown were dropped", running.queue.qsize())
        running.drainer.cancel()
        await asyncio.gather(running.drainer, return_exceptions=True)
        close = getattr(running.layer, "close_pools", None)
        if close is not None:
            try:
                await close()
            except Exception:
                logger.warning("Closing the broadcaster's channel layer failed", exc_info=True)


_broadcaster = Broadcaster()


def broadcaster() -> Broadcaster:
    """This process's broadcaster (a fresh one in a forked child: never the parent's thread)."""
    global _broadcaster
    if _broadcaster._pid != os.getpid():
        _broadcaster = Broadcaster()
    return _broadcaster


def _forget_after_fork() -> None:
    # The parent's thread does not exist in the child and its sockets are the parent's: drop
    # them without closing (closing would talk on the parent's connections).
    global _broadcaster
    _broadcaster = Broadcaster()


os.register_at_fork(after_in_child=_forget_after_fork)
