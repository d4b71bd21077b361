"""The watchers of the WebSocket fan-out benchmark: asyncio clients in the measuring process, and
a sampler of the Daphne they connect to.

`drive_clients` connects every client (from several processes: one asyncio loop parsing the frames
of 1,000 sockets falls behind, and its lag would count as server latency), starts the run once
they are all connected, waits for it and for late events, then closes them; `analyse` compares what each client received with the
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

from bench.harness import BenchError, log
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


# --- one client process -----------------------------------------------------------------------

class LoopLag:
    """How late this process's event loop wakes up: a 10 ms sleep timed again and again.

    The clients measure latency with their own clock on their own loop; when that loop is busy
    (1,000 sockets' frames to parse), every receive time is late by the lag, which would be
    counted against the server. The samples are kept per phase (connecting, running)."""

    INTERVAL = 0.01

    def __init__(self):
        self.samples: dict[str, list[float]] = {"connect": [], "run": []}
        self.phase = "connect"

    async def run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.INTERVAL)
            self.samples[self.phase].append((time.perf_counter() - before - self.INTERVAL) * 1000)


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


def _last_sequence(client: Client) -> int:
    return json.loads(client.frames[-1][1]).get("event", {}).get("sequence", 0) if client.frames else 0


async def _client_process_main(pipe, clients: list[Client], uris: list[str], settings: dict) -> None:
    """One client process: connect its share when told, report, wait for the run, drain, report."""
    lag = LoopLag()
    lag_task = asyncio.ensure_future(lag.run())
    stop = asyncio.Event()
    connected: list[Client] = []
    semaphore = asyncio.Semaphore(settings["concurrency"])
    pipe.send(("ready", None))
    await asyncio.to_thread(pipe.recv)  # "go": every process starts connecting at once
    runners = [asyncio.ensure_future(run_client(c, uri, semaphore, settings["connect_timeout"], stop, connected))
               for c, uri in zip(clients, uris)]
    deadline = time.perf_counter() + settings["connect_budget"]
    while time.perf_counter() < deadline and any(c.failure is None and c.connect_seconds is None for c in clients):
        await asyncio.sleep(0.02)
    lag.phase = "run"
    pipe.send(("connected", [(c.connect_seconds, c.failure) for c in clients]))
    maxima = await asyncio.to_thread(pipe.recv)  # the run is over: each task's last sequence
    drain_deadline = time.perf_counter() + settings["drain_timeout"]
    while time.perf_counter() < drain_deadline:
        if all(_last_sequence(c) >= maxima.get(c.task, 0) for c in connected):
            break
        await asyncio.sleep(0.1)
    stop.set()
    done, still = await asyncio.wait(runners, timeout=15)
    for runner in still:
        runner.cancel()
    if still:
        await asyncio.wait(still, timeout=5)
    lag_task.cancel()
    pipe.send(("results", (clients, lag.samples)))


def client_process(pipe, clients: list[Client], uris: list[str], settings: dict) -> None:
    """Entry point of a client process (multiprocessing, spawned)."""
    try:
        asyncio.run(_client_process_main(pipe, clients, uris, settings))
    finally:
        pipe.close()


# --- the clients of a run, over several processes ---------------------------------------------

async def drive_clients(args, *, port: int, token: str, task_ids: list[str], start_run, wait_run,
                        sampler: DaphneSampler, result: LayerResult, event_max: callable) -> list[Client]:
    """Connect every client (in `args.client_processes` processes, so that the clients' own event
    loops keep up), start the run once all are connected, wait for it and for late events, and
    return every client with what it received."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # this process has threads (the sampler)
    clients = [Client(number=n, task=task_ids[n % len(task_ids)]) for n in range(args.clients)]
    processes, pipes = [], []
    shares = max(1, min(args.client_processes, args.clients))
    settings = {"concurrency": max(1, args.connect_concurrency // shares), "connect_timeout": args.connect_timeout,
                "connect_budget": args.connect_budget, "drain_timeout": args.drain_timeout}
    try:
        for index in range(shares):
            share = clients[index::shares]
            uris = [f"ws://127.0.0.1:{port}/ws/tasks/{c.task}?token={token}" for c in share]
            parent_end, child_end = context.Pipe()
            process = context.Process(target=client_process, args=(child_end, share, uris, settings), daemon=True)
            process.start()
            child_end.close()
            processes.append(process)
            pipes.append(parent_end)

        async def receive(pipe, expected: str, timeout: float):
            if not await asyncio.to_thread(pipe.poll, timeout):
                raise BenchError(f"a client process sent no {expected!r} within {timeout:.0f} s")
            kind, value = await asyncio.to_thread(pipe.recv)
            if kind != expected:
                raise BenchError(f"a client process sent {kind!r}, not {expected!r}")
            return value

        for pipe in pipes:
            await receive(pipe, "ready", 60)
        log(f"Connecting {args.clients} clients to {len(task_ids)} tasks from {shares} client process(es), "
            f"{settings['concurrency'] * shares} handshakes at a time")
        cpu_before = sum(sampler.process.cpu_times()[:2])
        started = time.perf_counter()
        for pipe in pipes:
            pipe.send("go")
        outcomes = {}
        for index, pipe in enumerate(pipes):
            for client, (seconds, failure) in zip(clients[index::shares],
                                                  await receive(pipe, "connected", args.connect_budget + 30)):
                outcomes[client.number] = (seconds, failure)
        result.connect_seconds = time.perf_counter() - started
        result.daphne_cpu_connecting = sum(sampler.process.cpu_times()[:2]) - cpu_before
        times = sorted(seconds for seconds, _ in outcomes.values() if seconds is not None)
        result.connected = len(times)
        if times:
            result.connect_p50 = nearest_rank(times, 50)
            result.connect_p95 = nearest_rank(times, 95)
            result.handshakes_per_second = len(times) / result.connect_seconds
        for seconds, failure in outcomes.values():
            if failure:
                kind = ": ".join(part.strip() for part in failure.split(":")[:2])
                result.failures[kind] = result.failures.get(kind, 0) + 1
        pending = sum(1 for seconds, failure in outcomes.values() if seconds is None and not failure)
        if pending:
            result.failures[f"still connecting after {args.connect_budget:.0f} s"] = pending
        await asyncio.sleep(1)  # let Daphne settle before reading its memory
        result.rss_connected = sampler.rss() / 2**20
        log(f"{result.connected} of {args.clients} connected in {result.connect_seconds:.1f} s "
            f"({result.handshakes_per_second or 0:.0f} handshakes/s); Daphne RSS {result.rss_connected:.0f} MiB; "
            f"failures {result.failures or 'none'}")

        await asyncio.to_thread(start_run)
        run_started = time.perf_counter()
        await asyncio.to_thread(wait_run)
        result.run_seconds = time.perf_counter() - run_started
        maxima = await asyncio.to_thread(event_max)
        for pipe in pipes:
            pipe.send(maxima)
        returned: list[Client] = []
        for pipe in pipes:
            share, lag = await receive(pipe, "results", args.drain_timeout + 60)
            returned.extend(share)
            for phase, samples in lag.items():
                result.client_lag_ms.setdefault(phase, []).extend(samples)
        return sorted(returned, key=lambda c: c.number)
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


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
