"""Benchmark of the content pipeline in one worker process.

    python bench/pipeline_throughput.py [--articles 5] [--words 1000] [--latency 2] [--write-docs]

Measures, against a database of its own (`pressroom_bench_pipeline` on DATABASE_URL's server, or
`--database-name`):

1. **Offline articles**: seconds per `--words`-word blog post through all five stages with the
   built-in offline providers (writer, QA loop, image, format), and the peak RSS of the process
   that ran them (one worker's memory). The offline writer writes only from research material,
   so each brief carries pasted notes (tests/content/notes.py); the words it reached are reported.
2. **Overhead around provider calls**: the same pipeline with an OpenAI-compatible model served
   by a local fake (tests/content/fake_servers.py) that answers every call after a fixed
   `--latency` seconds; the ratio of the task's total time to the pure provider time
   (calls × latency) shows what the pipeline adds around its model calls. The QA loop is held to
   its first scoring round there (`PRESSROOM_QA_MAX_ROUNDS=0`) so that every run makes exactly
   three calls (outline, article, critique).

Runs the engine in-process (claim + run, as a worker does), only on 127.0.0.1, and stops by
itself; `--write-docs` rewrites its section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.harness import (  # noqa: E402
    add_database_argument, ensure_database, reset_tables, server_version, with_database_name,
)
from bench.report import DOCS_PAGE, command_line, measured_at, write_docs_section  # noqa: E402

MARKER = "pipeline-benchmark"
def briefs_with_notes() -> list[tuple[str, str]]:
    from tests.content.notes import COMPOSTING, HEAT_PUMPS, STANDING_DESKS

    return [("Composting at home", COMPOSTING), ("Heat pumps for older homes", HEAT_PUMPS),
            ("Standing desks at work", STANDING_DESKS)]


def prepare_database(name: str) -> str:
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("Set DATABASE_URL (or run `make bench`, which provides the embedded PostgreSQL).")
    url = with_database_name(base, name)
    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env,
                   check=True, timeout=300)
    return url


def run_task(brief: dict) -> tuple[float, int]:
    """Seconds the task took, and the word count of its final version."""
    from tasks.engine.runner import run_claimed_task
    from tasks.services import claim_next_task, task_create

    from content.models import ContentVersion

    task_create(created_by=None, brief=brief)
    started = time.perf_counter()
    task = claim_next_task(worker="bench")
    outcome = run_claimed_task(task.pk, worker="bench")
    elapsed = time.perf_counter() - started
    if outcome != "completed":
        task.refresh_from_db()
        raise RuntimeError(f"The benchmark task ended {outcome}: {task.error}")
    final = ContentVersion.objects.filter(task_id=task.pk).order_by("-number").first()
    return elapsed, final.word_count


def offline_articles(count: int, words: int) -> list[tuple[float, int]]:
    briefs = briefs_with_notes()
    return [run_task({"topic": briefs[i % len(briefs)][0], "word_count": words, "category": "Bench",
                      "metadata": {"research": {"text": briefs[i % len(briefs)][1].strip()}}}) for i in range(count)]


def fake_provider_runs(count: int, words: int, latency: float) -> tuple[list[float], int]:
    from django.conf import settings

    from content.providers.base import Brief, Research, Source
    from content.providers.offline import OfflineTextModel
    from tasks.models import ModelCatalogEntry
    from tests.content.fake_servers import Hang, OpenAIChatServer, Reply

    settings.PRESSROOM_QA_MAX_ROUNDS = 0
    os.environ["PRESSROOM_BENCH_API_KEY"] = "bench-key"
    timings, calls = [], 0
    briefs = briefs_with_notes()
    for i in range(count):
        topic, notes = briefs[i % len(briefs)]
        brief = Brief(topic=topic, word_count=words)
        research = Research(notes=notes, sources=(Source(1, "Editor's notes", quote=notes[:300], kind="pasted"),))
        outline = OfflineTextModel().outline(brief, research).outline
        article = OfflineTextModel().write(brief, research, outline).text
        outline_json = '{"title": "%s", "sections": %s}' % (outline.title.replace('"', "'"),
                                                            str(list(outline.sections)).replace("'", '"'))
        with OpenAIChatServer(Hang(latency, Reply(outline_json)), Hang(latency, Reply(article)),
                              Hang(latency, Reply("A clear, well structured piece."))) as server:
            entry, _ = ModelCatalogEntry.objects.update_or_create(key="bench-fake", defaults=dict(
                display_name="Bench fake", provider="openai_compatible", provider_model_id="fake",
                base_url=f"{server.url}/v1", api_key_env="PRESSROOM_BENCH_API_KEY"))
            timings.append(run_task({"topic": topic, "word_count": words, "model": entry,
                                     "metadata": {"research": {"text": notes.strip()}}})[0])
            calls += len(server.requests)
    return timings, calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--fake-runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    add_database_argument(parser, "pressroom_bench_pipeline")
    args = parser.parse_args()

    url = prepare_database(args.database_name)
    media = tempfile.mkdtemp(prefix="pressroom-bench-media-")
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "MEDIA_ROOT": media})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    reset_tables(url)

    runs = offline_articles(args.articles, args.words)
    offline, reached = [seconds for seconds, _ in runs], [count for _, count in runs]
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fake, calls = fake_provider_runs(args.fake_runs, args.words, args.latency)
    provider_time = calls * args.latency
    ratio = sum(fake) / provider_time if provider_time else float("nan")

    rows = [
        ("Offline articles run", f"{len(offline)} × {args.words}-word briefs with pasted notes"),
        ("Words written, median (min–max)", f"{statistics.median(reached):.0f} ({min(reached)}–{max(reached)})"),
        ("Seconds per article, median (min–max)",
         f"{statistics.median(offline):.2f} ({min(offline):.2f}–{max(offline):.2f})"),
        ("Peak RSS of the worker process (MiB)", f"{peak_rss_mib:.0f}"),
        (f"Fake provider: runs × calls, {args.latency:g} s each", f"{len(fake)} × {calls // max(1, len(fake))}"),
        ("Total task time / pure provider time", f"{sum(fake):.2f} s / {provider_time:.2f} s = **{ratio:.3f}**"),
        ("Pipeline time around the calls, per task (s)", f"{(sum(fake) - provider_time) / len(fake):.3f}"),
    ]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    print(table)
    if args.write_docs:
        body = (f"Measured {measured_at()} with `{command_line('pipeline_throughput.py', sys.argv[1:])}` on "
                f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {server_version(url)}.\n\n"
                f"{table}\n")
        write_docs_section(DOCS_PAGE, body, marker=MARKER,
                           preamble=f"## Content pipeline\n\n{__doc__.split(chr(10) * 2, 1)[1].strip()}\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
