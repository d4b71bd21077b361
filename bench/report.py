"""What one engine benchmark run measured, and how it is written down.

The results of a run are one `BrokerResults` per broker; `results_table` turns them into the
Markdown table the script prints, and `write_docs_section` puts that table, with the machine it
ran on, between the markers of docs/performance.md (the rest of the page is left as it is).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

@dataclass
class EnqueueResult:
    tasks: int
    clients: int
    seconds: float
    latencies_ms: list[float]
    created_responses: int
    tasks_in_database: int

    @property
    def per_second(self) -> float:
        return self.tasks / self.seconds

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class RunResult:
    """N jobs or tasks run by one cluster; `seconds` from the first start to the last finish."""

    tasks: int
    seconds: float
    seconds_with_start: float
    peak_worker_mib: float | None
    peak_cluster_mib: float | None
    workers_seen: int
    extra: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.tasks / self.seconds


@dataclass
class BrokerResults:
    broker: str
    workers: int
    enqueue: EnqueueResult | None = None
    engine: RunResult | None = None
    plain: RunResult | None = None

    @property
    def overhead_ms(self) -> float | None:
        """Extra worker time per task: (engine wall − plain wall) × workers / N."""
        if not (self.engine and self.plain):
            return None
        return (self.engine.seconds - self.plain.seconds) * self.workers / self.engine.tasks * 1000


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def results_table(results: list[BrokerResults]) -> str:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, values) -> None:
        rows.append((label, list(values)))

    row("**POST /api/tasks** (no cluster running)", ["" for _ in results])
    row("requests/s", (_num(r.enqueue and r.enqueue.per_second) for r in results))
    row("latency p50 / p95 (ms)", (
        f"{_num(r.enqueue.percentile_ms(50))} / {_num(r.enqueue.percentile_ms(95))}" if r.enqueue else "—"
        for r in results
    ))
    row("201 responses / tasks in the database", (
        f"{r.enqueue.created_responses} / {r.enqueue.tasks_in_database} of {r.enqueue.tasks}" if r.enqueue else "—"
        for r in results
    ))
    row("**Engine**, trivial 5-stage tasks", ["" for _ in results])
    _run_rows(row, [r.engine for r in results], "first `started_at` → last `finished_at`")
    row("events per task", (_num(r.engine and r.engine.extra.get("events_per_task")) for r in results))
    row("**Plain django-q2**, no-op jobs", ["" for _ in results])
    _run_rows(row, [r.plain for r in results], "first → last `stopped`")
    row("**Engine overhead per task** (ms)", (f"**{_num(r.overhead_ms)}**" for r in results))

    header = "| | " + " | ".join(f"{r.broker} broker, {r.workers} workers" for r in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in rows]
    return "\n".join(lines)


def _run_rows(row, runs: list[RunResult | None], span: str) -> None:
    row(f"wall time, {span} (s)", (_num(r and r.seconds, 2) for r in runs))
    row("wall time from cluster launch (s)", (_num(r and r.seconds_with_start, 2) for r in runs))
    row("tasks/s", (_num(r and r.per_second) for r in runs))
    row("peak RSS per worker (MiB)", (_num(r and r.peak_worker_mib) for r in runs))
    row("peak RSS, whole cluster (MiB)", (_num(r and r.peak_cluster_mib) for r in runs))


# --- the machine ------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine_description(*, postgres: str, redis: str | None, brokers: list[str]) -> list[str]:
    return [
        f"CPU: {_cpu_model()}, {os.cpu_count()} logical cores; RAM {_memory_gib()}",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, Django {_version('Django')}, django-q2 {_version('django-q2')}, "
        f"Daphne {_version('daphne')}",
        f"PostgreSQL {postgres}" + (f", Redis {redis}" if redis else "") + " (on the same machine)",
        f"Broker(s): {', '.join(brokers)}",
    ]


def report_markdown(*, results: list[BrokerResults], machine: list[str], command: str, notes: list[str]) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Measured {when} with", "", "```sh", command, "```", ""]
    lines += [f"- {item}" for item in machine]
    lines += ["", results_table(results), ""]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def write_docs_section(path: Path, body: str, *, marker: str = "engine-benchmark") -> None:
    """Replace what lies between the `<!-- {marker}:start/end -->` markers (appending them if the
    page has none)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = path.read_text() if path.exists() else ""
    section = f"{start}\n{body}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + ("\n\n" if text else "") + section + "\n"
    path.write_text(text)
