"""What one WebSocket fan-out run measured per channel layer, and how it is written down.

`LayerResult` is filled by `bench.websocket_fanout` (and `bench.ws_clients.analyse`);
`results_table` and `notes_for` make the Markdown the script prints and, with `--write-docs`,
puts in its section of docs/performance.md through `bench.report.write_docs_section`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bench.report import nearest_rank, package_version

MARKER = "websocket-benchmark"
# Put before the marked section when docs/performance.md has none yet.
PREAMBLE = (
    "## WebSocket fan-out\n\n"
    "    python bench/websocket_fanout.py [--clients 1000] [--tasks 10] [--write-docs]\n\n"
    "One Daphne, one cluster, `--clients` WebSocket clients spread over `--tasks` running tasks "
    "(five stages sleeping 0.5 s each), for each channel layer: how late the clients see each "
    "event, whether any is lost, and what the connections cost Daphne in memory. See the "
    "script's docstring for the method.\n\n"
)
POLL_INTERVAL_S = (2.0, 5.0)  # the reviewed system's polling interval


@dataclass
class LayerResult:
    layer: str
    clients: int
    tasks: int
    connected: int = 0
    connect_seconds: float = 0.0
    connect_p50: float | None = None
    connect_p95: float | None = None
    handshakes_per_second: float | None = None
    daphne_cpu_connecting: float | None = None  # Daphne's CPU seconds while the clients connected
    client_processes: int = 1
    client_lag_ms: dict = field(default_factory=dict)  # phase → the client loops' wake-up delays
    failures: dict = field(default_factory=dict)
    events_expected: int = 0
    events_received: int = 0
    missing: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    latencies_ms: list = field(default_factory=list)
    rss_before: float = 0.0
    rss_connected: float = 0.0
    rss_peak: float = 0.0
    daphne_nofile: int | None = None
    daphne_cpu_seconds: float | None = None
    peak_backends: int = 0
    run_seconds: float = 0.0
    task_statuses: dict = field(default_factory=dict)
    closed_by_server: dict = field(default_factory=dict)
    events_per_task: float = 0.0
    daphne_log_problems: list = field(default_factory=list)

    def pct(self, p: float) -> float | None:
        return nearest_rank(self.latencies_ms, p) if self.latencies_ms else None

    def lag(self, phase: str, p: float) -> float | None:
        samples = self.client_lag_ms.get(phase)
        return nearest_rank(samples, p) if samples else None


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d )?(\d\d:\d\d:\d\d)[,.]\d+ (WARNING|ERROR|CRITICAL) (\S+) .*?task=\S+ (.*)$")


def summarise_log(output: str) -> list[str]:
    """Warnings and errors of Daphne's log, grouped: count, first and last time, the message."""
    groups: dict[tuple, list] = {}
    for line in output.splitlines():
        match = LOG_LINE.match(line)
        if not match:
            continue
        _, clock, level, logger, message = match.groups()
        message = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", message)[:140]
        entry = groups.setdefault((level, logger, message), [0, clock, clock])
        entry[0] += 1
        entry[2] = clock
    return [f"{count} × {level} {logger} `{message}` ({first}–{last} UTC)"
            for (level, logger, message), (count, first, last) in groups.items()]


# --- report -------------------------------------------------------------------------------------

def _n(value, digits=0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def results_table(results: list[LayerResult]) -> str:
    rows = [
        ("clients connected / asked (connect time, s)",
         [f"{r.connected} / {r.clients} ({r.connect_seconds:.1f})" for r in results]),
        ("**handshakes per second** (connected ÷ connect time)", [f"**{_n(r.handshakes_per_second)}**"
                                                                 for r in results]),
        ("Daphne CPU time per handshake (ms)", [_n(r.daphne_cpu_connecting * 1000 / r.connected, 1)
                                                if r.connected and r.daphne_cpu_connecting is not None else "—"
                                                for r in results]),
        ("handshake + snapshot per client p50 / p95 (s)", [f"{_n(r.connect_p50, 2)} / {_n(r.connect_p95, 2)}"
                                                          for r in results]),
        ("connect failures", [", ".join(f"{k}: {v}" for k, v in r.failures.items()) or "none" for r in results]),
        ("events received / expected", [f"{r.events_received:,} / {r.events_expected:,}" for r in results]),
        ("missing / duplicate / out of order", [f"{r.missing} / {r.duplicates} / {r.out_of_order}" for r in results]),
        ("**latency `created_at` → client, p50 (ms)**", [f"**{_n(r.pct(50))}**" for r in results]),
        ("**latency p95** / max (ms)", [f"**{_n(r.pct(95))}** / {_n(r.pct(100))}" for r in results]),
        ("client event-loop lag while running, p50 / p95 / max (ms)",
         [f"{_n(r.lag('run', 50), 1)} / {_n(r.lag('run', 95), 1)} / {_n(r.lag('run', 100), 1)}" for r in results]),
        ("client event-loop lag while connecting, p95 / max (ms)",
         [f"{_n(r.lag('connect', 95), 1)} / {_n(r.lag('connect', 100), 1)}" for r in results]),
        ("Daphne RSS before / all connected / peak (MiB)",
         [f"{r.rss_before:.0f} / {r.rss_connected:.0f} / {r.rss_peak:.0f}" for r in results]),
        ("Daphne RSS per connected client (KiB)",
         [_n((r.rss_connected - r.rss_before) * 1024 / r.connected if r.connected else None) for r in results]),
        ("Daphne CPU time over the run (s)", [_n(r.daphne_cpu_seconds, 1) for r in results]),
        ("peak PostgreSQL backends on the bench database", [str(r.peak_backends) for r in results]),
        ("cluster start → all tasks finished (s)", [f"{r.run_seconds:.1f}" for r in results]),
        ("events per task; task statuses", [f"{r.events_per_task:.0f}; " + ", ".join(
            f"{k} {v}" for k, v in r.task_statuses.items()) for r in results]),
    ]
    header = "| | " + " | ".join(f"{r.layer} layer" for r in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in rows]
    return "\n".join(lines)


def notes_for(results: list[LayerResult], args) -> list[str]:
    low, high = POLL_INTERVAL_S
    notes = [
        "Latency = the client's receive time − the event's `time` (`TaskEvent.created_at`), both on this "
        "machine's clock. `created_at` is set inside the transaction that writes the event and the "
        "broadcast runs on commit, so the figure includes the rest of that transaction and slightly "
        f"overstates commit → client. The clients run in {args.client_processes} asyncio process(es) on the "
        "same cores as Daphne, PostgreSQL, Redis and the workers, so their own scheduling is in the figure "
        "too: the client event-loop lag (how late a 10 ms sleep of a client process wakes up) bounds "
        "that share.",
        f"For comparison, the reviewed system polls every {low:.0f}–{high:.0f} s: a poller sees an event on "
        f"average half an interval after it happened ({low / 2:.1f}–{high / 2:.1f} s), at worst a whole "
        f"interval ({low:.0f}–{high:.0f} s), and every watcher's poll is a request whether or not anything changed.",
        "Expected events per client = the task's TaskEvent rows with a sequence above the snapshot's "
        "`last_event_sequence` (the `queued` event of the POST is in the snapshot).",
    ]
    for r in results:
        if r.closed_by_server:
            notes.append(f"{r.layer}: connections closed by the server before the clients closed: "
                         + ", ".join(f"{k}: {v}" for k, v in r.closed_by_server.items()))
        if r.daphne_log_problems:
            notes.append(f"{r.layer}: Daphne's log: " + "; ".join(r.daphne_log_problems[:6]))
        if any("Timeout reading" in line for line in r.daphne_log_problems):
            notes.append(
                f"{r.layer}: each `Timeout reading from …:6379` above killed one consumer (close code 1011): "
                "channels_redis waits for messages with `BZPOPMIN` blocking up to its `brpop_timeout` of 5 s, "
                f"and redis-py {package_version('redis')} gives every socket a default read timeout of 5 s "
                f"(channels_redis {package_version('channels_redis')}), so an idle receive can time out; they come "
                "~5 s apart while no events flow (before the cluster starts and after the tasks end), and the "
                "clients here do not reconnect, so those sockets' remaining events count as missing.")
        if any("Too many connections" in line for line in r.daphne_log_problems):
            notes.append(f"{r.layer}: `Too many connections` is redis-py's pool limit (100 by default) being "
                         "reached by the channel layer during the connection burst: that consumer's "
                         "`group_add` failed and its socket was closed with 1011.")
        if any("does not exist, did you call group_add" in line for line in r.daphne_log_problems):
            notes.append(f"{r.layer}: the `Group … does not exist` warnings come from the POSTs' `queued` "
                         "events, broadcast before any client had joined: harmless.")
    return notes
