"""The watchers of the WebSocket fan-out benchmark: asyncio clients in the measuring process, and
a sampler of the Daphne they connect to.

`drive_clients` connects every client, starts the run once they are all connected, waits for it
and for late events, then closes them; `analyse` compares what each client received with the
TaskEvent rows of its task. Only 127.0.0.1 is used; every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from bench.harness import log
from bench.report import nearest_rank
from bench.ws_report import LayerResult


class DaphneSampler(threading.Thread):
    """Daphne's RSS (and the benchmark database's backend count) every 0.2 s, keeping the peaks."""

    def __init__(self, pid: int, database_url: str):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.database_url = database_url
        self.peak_rss = 0
        self.peak_backends = 0
        self.stop_event = threading.Event()

    def rss(self) -> int:
        value = self.process.memory_info().rss
        self.peak_rss = max(self.peak_rss, value)
        return value

    def run(self) -> None:
        import psutil

        db = None
        try:
            db = psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            pass
        try:
            while not self.stop_event.wait(0.2):
                try:
                    self.rss()
                except psutil.Error:
                    return
                if db is not None:
                    try:
                        count = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                           ).fetchone()[0]
                        self.peak_backends = max(self.peak_backends, count)
                    except psycopg.Error:
                        db = None
        finally:
            if db is not None:
                db.close()


@dataclass
class Client:
    number: int
    task: str
    last_snapshot_sequence: int | None = None
    connect_seconds: float | None = None
    failure: str | None = None
    frames: list = field(default_factory=list)  # (receive wall time, raw text)
    closed_by_server: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def run_client(client: Client, uri: str, semaphore: asyncio.Semaphore, timeout: float,
                     stop: asyncio.Event, connected: list) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with semaphore:
        started = time.perf_counter()
        try:
            ws = await connect(uri, open_timeout=timeout, close_timeout=2, ping_interval=None, max_queue=None,
                               max_size=2**22)
        except Exception as error:  # noqa: BLE001 - every kind of refusal is a result
            client.failure = f"handshake: {type(error).__name__}: {str(error)[:120]}"
            return
        try:
            first = await asyncio.wait_for(ws.recv(), timeout)
            snapshot = json.loads(first)
            if snapshot.get("type") != "snapshot":
                raise ValueError(f"first frame {first[:100]}")
            client.last_snapshot_sequence = snapshot["task"]["last_event_sequence"]
            client.connect_seconds = time.perf_counter() - started
        except ConnectionClosed as error:
            client.failure = f"closed before snapshot: code {error.rcvd.code if error.rcvd else None}"
            await ws.close()
            return
        except Exception as error:  # noqa: BLE001
            client.failure = f"snapshot: {type(error).__name__}: {str(error)[:120]}"
            await ws.close()
            return
    connected.append(client)
    try:
        receiver = asyncio.ensure_future(_receive(ws, client))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([receiver, stopper], return_when=asyncio.FIRST_COMPLETED)
        for future in (receiver, stopper):
            future.cancel()
        await asyncio.gather(receiver, stopper, return_exceptions=True)
    finally:
        try:
            await asyncio.wait_for(ws.close(), 3)
        except Exception:  # noqa: BLE001
            pass


async def _receive(ws, client: Client) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for message in ws:
            client.frames.append((time.time(), message))
    except ConnectionClosed as error:
        client.closed_by_server = f"code {error.rcvd.code if error.rcvd else None}"
    else:
        client.closed_by_server = f"code {ws.close_code}"


async def drive_clients(args, *, port: int, token: str, task_ids: list[str], start_run, wait_run,
                        sampler: DaphneSampler, result: LayerResult, event_max: callable) -> list[Client]:
    semaphore = asyncio.Semaphore(args.connect_concurrency)
    stop = asyncio.Event()
    connected: list[Client] = []
    clients = [Client(number=n, task=task_ids[n % len(task_ids)]) for n in range(args.clients)]
    runners = [
        asyncio.ensure_future(run_client(c, f"ws://127.0.0.1:{port}/ws/tasks/{c.task}?token={token}", semaphore,
                                         args.connect_timeout, stop, connected))
        for c in clients
    ]
    try:
        log(f"Connecting {args.clients} clients to {len(task_ids)} tasks ({args.connect_concurrency} handshakes "
            "at a time)")
        started = time.perf_counter()
        deadline = started + args.connect_budget
        while time.perf_counter() < deadline:
            settled = sum(1 for c in clients if c.failure or c.connect_seconds is not None)
            if settled == len(clients):
                break
            await asyncio.sleep(0.1)
        result.connect_seconds = time.perf_counter() - started
        result.connected = len(connected)
        times = sorted(c.connect_seconds for c in connected)
        if times:
            result.connect_p50 = times[len(times) // 2]
            result.connect_p95 = nearest_rank(times, 95)
        pending = len(clients) - len(connected) - sum(1 for c in clients if c.failure)
        for c in clients:
            if c.failure:
                kind = c.failure.split(":")[0] + ": " + c.failure.split(":")[1].strip() if ":" in c.failure else c.failure
                result.failures[kind] = result.failures.get(kind, 0) + 1
        if pending:
            result.failures[f"still connecting after {args.connect_budget:.0f} s"] = pending
        await asyncio.sleep(1)  # let Daphne settle before reading its memory
        result.rss_connected = sampler.rss() / 2**20
        log(f"{len(connected)} of {args.clients} connected in {result.connect_seconds:.1f} s; "
            f"Daphne RSS {result.rss_connected:.0f} MiB; failures {result.failures or 'none'}")

        await asyncio.to_thread(start_run)
        run_started = time.perf_counter()
        await asyncio.to_thread(wait_run)
        result.run_seconds = time.perf_counter() - run_started
        # Drain: until every connected client has its task's last event, or the drain timeout.
        maxima = await asyncio.to_thread(event_max)
        drain_deadline = time.perf_counter() + args.drain_timeout
        while time.perf_counter() < drain_deadline:
            behind = [c for c in connected if not c.frames or
                      json.loads(c.frames[-1][1]).get("event", {}).get("sequence", 0) < maxima.get(c.task, 0)]
            if not behind:
                break
            await asyncio.sleep(0.2)
        return clients
    finally:
        stop.set()
        done, still = await asyncio.wait(runners, timeout=15)
        for runner in still:
            runner.cancel()
        if still:
            await asyncio.wait(still, timeout=5)


def analyse(clients: list[Client], events: dict, result: LayerResult) -> None:
    """events: task id → sorted list of (sequence, created_at)."""
    for c in clients:
        if c.last_snapshot_sequence is None:
            continue
        if c.closed_by_server:
            result.closed_by_server[c.closed_by_server] = result.closed_by_server.get(c.closed_by_server, 0) + 1
        expected = {seq for seq, _ in events.get(c.task, []) if seq > c.last_snapshot_sequence}
        seen: set[int] = set()
        last = c.last_snapshot_sequence
        for received_at, raw in c.frames:
            frame = json.loads(raw)
            if frame.get("type") != "event":
                continue
            event = frame["event"]
            sequence = event["sequence"]
            if sequence in seen:
                result.duplicates += 1
                continue
            if sequence < last:
                result.out_of_order += 1
            last = max(last, sequence)
            seen.add(sequence)
            result.events_received += 1
            sent = datetime.fromisoformat(event["time"]).timestamp()
            result.latencies_ms.append((received_at - sent) * 1000)
        result.events_expected += len(expected)
        result.missing += len(expected - seen)
