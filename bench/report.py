"""How every benchmark writes down what it measured: the machine it ran on, the command, and its
own marked section of a docs page (docs/performance.md), leaving the rest of the page as it is.

Each benchmark builds its own table; this module holds what their reports share. No Django: the
measuring processes stay small. Only `bench/` imports it.
"""

from __future__ import annotations

import os
import platform
import shlex
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"

# Display name → distribution name of the packages a serving benchmark names in its machine lines.
SERVING_PACKAGES = {"Django": "Django", "django-q2": "django-q2", "Daphne": "daphne"}


def nearest_rank(values: list[float], p: float) -> float:
    """The value at rank round(p% × (n − 1)) of the sorted values (p = 50 is a median, 100 the max)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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


def package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine_description(*, postgres: str, redis: str | None = None, brokers: list[str] | None = None,
                        packages: dict[str, str] = SERVING_PACKAGES,
                        where: str = "(on the same machine)") -> list[str]:
    """One line each: CPU and memory, OS, Python and `packages`, PostgreSQL (and Redis) `where`,
    and the broker(s) when given."""
    lines = [
        f"CPU: {_cpu_model()}, {os.cpu_count()} logical cores; RAM {_memory_gib()}",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, "
        + ", ".join(f"{name} {package_version(package)}" for name, package in packages.items()),
        f"PostgreSQL {postgres}" + (f", Redis {redis}" if redis else "") + f" {where}",
    ]
    if brokers:
        lines.append(f"Broker(s): {', '.join(brokers)}")
    return lines


# --- the section of the docs page --------------------------------------------------------------

def measured_at() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def command_line(script: str, argv: list[str], *, make_target: str | None = None) -> str:
    """How the run was started, to print above its figures; under `make` (MAKELEVEL set) with the
    target that ran it."""
    command = shlex.join(["python", f"bench/{script}", *argv])
    if make_target and os.environ.get("MAKELEVEL"):
        command = f"make {make_target}  # runs: {command}"
    return command


def report_body(intro: str, machine: list[str], result: str, notes: list[str] | tuple = ()) -> str:
    """A docs section's text: what was run (`intro`), the machine (a bullet per line), the result,
    then the notes (a bullet each, after a blank line)."""
    body = f"{intro}\n\n" + "".join(f"- {line}\n" for line in machine) + "\n" + result
    if notes:
        body += "\n" + "".join(f"- {note}\n" for note in notes)
    return body


def write_docs_section(path: Path, body: str, *, marker: str, preamble: str = "") -> None:
    """Replace what lies between the `<!-- {marker}:start/end -->` markers. A page without them gets
    `preamble` (a heading and what the benchmark does) and the marked section appended."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = path.read_text() if path.exists() else ""
    section = f"{start}\n{body}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + ("\n\n" if text else "") + preamble + section + "\n"
    path.write_text(text)
