"""What the load benchmark (`bench/load_under_pipeline.py`) found, as tables and notes for the
terminal and for its section of docs/performance.md. No Django; only `bench/` imports it."""

from __future__ import annotations

from dataclasses import dataclass, field

MARKER = "load-benchmark"
FINISHED = ("completed", "failed", "cancelled", "timed_out")
PREAMBLE = """## The blog under load while tasks run

```sh
make bench-load          # = python bench/load_under_pipeline.py --write-docs; needs Debian's wrk
```

`bench/load_under_pipeline.py` runs the production serving setup (`make serve`'s three processes:
Gunicorn with `config.wsgi`, Daphne for /ws/, one django-q2 cluster) in production mode against a
database of its own with 1,000 seeded posts, PostgreSQL as cache, broker and channel layer. `wrk`
loads the blog pages (home, a post, a category archive in turn; the page cache on, as by default)
and then search (50 real queries in turn, on a second Gunicorn with the page cache off, so each
request runs the query and renders), first alone, then while 200 blog-post tasks run through the
whole content pipeline with a fake OpenAI-compatible model that answers each of a task's three
calls after a fixed latency. Every task must reach a final state. The ratios say how much task
processing slows the blog.

"""


@dataclass
class LoadResult:
    tasks: int
    alone: dict = field(default_factory=dict)
    with_pipeline: dict = field(default_factory=dict)
    finished_before_load: int = 0
    finished_after_load: int = 0
    task_statuses: dict = field(default_factory=dict)
    pipeline_seconds: float = 0.0
    model_calls: int = 0
    failures: list = field(default_factory=list)
    cluster_problems: int = 0

    @property
    def final(self) -> int:
        return sum(n for status, n in self.task_statuses.items() if status in FINISHED)


def error_rate(run: dict) -> str:
    errors = run["errors"] + run["socket_errors"]
    return f"{errors} ({errors / max(1, run['requests']):.2%})"


def _row(load: str, phase: str, run: dict) -> str:
    return (f"| {load} | {phase} | {run['rps']:,.0f} | {run['p50']:.1f} | {run['p90']:.1f} | {run['p99']:.1f} | "
            f"{run['requests']:,} | {error_rate(run)} |")


def results_tables(result: LoadResult, args) -> str:
    lines = ["| Load | Phase | Requests/s | p50 ms | p90 ms | p99 ms | requests | errors (rate) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    labels = {"pages": "blog pages (cache on)", "search": "search (cache off)"}
    for key, label in labels.items():
        alone, loaded = result.alone[key], result.with_pipeline[key]
        lines.append(_row(label, "alone", alone))
        lines.append(_row(label, f"{args.tasks} tasks running", loaded))
        lines.append(f"| {label} | **with / alone** | **{loaded['rps'] / alone['rps']:.2f}×** | "
                     f"{loaded['p50'] / alone['p50']:.2f}× | {loaded['p90'] / alone['p90']:.2f}× | "
                     f"**{loaded['p99'] / alone['p99']:.2f}×** | | |")
    completed = result.task_statuses.get("completed", 0)
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(result.task_statuses.items()))
    per_minute = result.final / result.pipeline_seconds * 60 if result.pipeline_seconds else 0
    pipeline = [
        "| Pipeline | value |", "| --- | ---: |",
        f"| tasks queued | {result.tasks} |",
        f"| in a final state | {result.final} ({statuses}) |",
        f"| completed | {completed} |",
        f"| first start → last finish | {result.pipeline_seconds:.1f} s |",
        f"| tasks/min | {per_minute:.1f} |",
        f"| finished before / after the two wrk runs | {result.finished_before_load} / "
        f"{result.finished_after_load} |",
        f"| model calls ({args.latency:g} s each) | {result.model_calls} |",
        f"| ERROR lines in the cluster's log | {result.cluster_problems} |",
    ]
    return "\n".join(lines) + "\n\n" + "\n".join(pipeline) + "\n"


def notes_for(result: LoadResult, args) -> list[str]:
    notes = []
    pages, search = (result.with_pipeline[k]["rps"] / result.alone[k]["rps"] for k in ("pages", "search"))
    notes.append(f"With {args.tasks} tasks running, the cached blog pages keep {pages:.0%} of their throughput "
                 f"and search (uncached) {search:.0%}.")
    if result.finished_after_load >= result.tasks:
        notes.append("The pipeline finished before the second wrk run ended: part of the 'tasks running' load "
                     "ran without tasks, so its figures understate the slowdown (raise --tasks or --latency).")
    else:
        notes.append(f"Tasks ran throughout both wrk runs ({result.finished_after_load} of {args.tasks} had "
                     "finished when the second one ended).")
    if result.failures:
        notes.append("Tasks that did not complete: " + "; ".join(f"`{f}`" for f in result.failures))
    return notes
