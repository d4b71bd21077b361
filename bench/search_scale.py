"""Blog search at 100,000 posts: latency of the search page per frequency class, next to the naive query.

    python bench/search_scale.py [--posts 100000] [--repeats 20] [--write-docs]

In one process, against a database of its own (`pressroom_bench_search` on the server DATABASE_URL
names, created and migrated here):

1. **Seed** (`bench/search_seed.py`) the generated blog, or reuse it when the same parameters are
   already there.
2. **Pick queries** by how many published posts they actually match, five per cell: rare (at most
   0.5% of the posts), medium (1–20%) and in every post (at least 80%), each as a single word, a
   two-word phrase (`"a b"`) and a prefix (`abc`, the last word of a query matching as a prefix).
   Candidates come from the generator's own vocabulary ranks, so the picks are the same every run.
3. **Naive SQL**: the obvious query, every match ranked with `ts_rank_cd` over the full vector
   through its GIN index, `LIMIT 10`, timed as bare SQL (psycopg through Django's connection).
4. **The search page**: `django.test.Client` GETs `/search/?q=…` (relevance order, first page,
   ten results with headlines), the full Django view and template, `DEBUG=0`. Warm: each query
   once before timing, then the cell's queries interleaved, `--repeats` rounds.

Median and p95 per cell; with `--write-docs` the section "Blog search at 100,000 posts" of
docs/performance.md is rewritten between its markers. Every phase checks a deadline (`--timeout`),
every statement has a `statement_timeout`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    BenchError,
    add_database_argument,
    database_name,
    database_server,
    django_in_this_process,
    ensure_database,
    log,
    static_root,
    with_database_name,
)
from bench.report import DOCS_PAGE, command_line, machine_description, measured_at, write_docs_section  # noqa: E402
from bench.search_seed import SeedParameters, Vocabulary, seed  # noqa: E402

MARKER = "search-benchmark"
PREAMBLE = "## Blog search at 100,000 posts\n\n"
CLASSES = ("rare", "medium", "every post")
KINDS = ("single word", "phrase", "prefix")
# A rare phrase of words that are each in most posts: the case bounded ranking trades away (the
# planner expects as many matches as the words have, so only the newest posts are looked at).
EXTRA_CELL = ("rare", "phrase of common words")
PER_CELL = 5
TARGET_MS = 50


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="published posts to seed")
    parser.add_argument("--repeats", type=int, default=20, help="timed rounds over each cell's queries")
    parser.add_argument("--naive-repeats", type=int, default=3, help="timed rounds of the naive SQL")
    add_database_argument(parser, "pressroom_bench_search")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the whole run may take")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the search section of {DOCS_PAGE}")
    args = parser.parse_args(argv)
    if not 1000 <= args.posts <= 1_000_000 or not 1 <= args.repeats <= 1000 or not 1 <= args.naive_repeats <= 100:
        parser.error("--posts 1,000–1,000,000, --repeats 1–1000, --naive-repeats 1–100")
    return args


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise BenchError(f"The run passed its --timeout of {self.seconds:.0f}s while {what}.")


def setup_django(url: str, static_folder: str) -> None:
    """Django in this process, in production mode: the search page is measured through the test
    client, without a server in between."""
    # The search itself is measured, not the blog's page cache (publishing/caching.py).
    django_in_this_process(url, PRESSROOM_BLOG_CACHE_SECONDS="0", STATIC_ROOT=static_folder)


# --- the queries ------------------------------------------------------------------------------

def classify(matches: int, posts: int) -> str | None:
    share = matches / posts
    if 1 <= matches and share <= 0.005:
        return "rare"
    if 0.01 <= share <= 0.20:
        return "medium"
    if share >= 0.80:
        return "every post"
    return None


def candidate_queries(vocabulary: Vocabulary):
    """(kind, query) candidates, most likely class first within each kind; deterministic."""
    core, tail = vocabulary.core, vocabulary.tail
    for rank in (1, 2, 3, 4, 5, 6, 7, 8, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700,
                 30000, 33000, 36000, 39000, 42000):
        yield "single word", core[rank - 1]
    for word in tail[:5]:
        yield "single word", word
    for a, b in ((1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (1, 4), (4, 1), (1, 5), (2, 4),
                 (8, 12), (10, 15), (12, 20), (15, 10), (20, 8), (14, 18), (9, 25)):
        yield "phrase", f'"{core[a - 1]} {core[b - 1]}"'
    for a, b in ((100, 300), (150, 250), (200, 400), (120, 500), (300, 110), (400, 90)):
        yield "phrase of common words", f'"{core[a - 1]} {core[b - 1]}"'
    for rank in (1, 2, 3, 4, 5, 6, 7):
        yield "prefix", core[rank - 1][:-1]
    for rank in (300, 500, 700, 900, 1100, 1300, 1500, 2000):
        yield "prefix", core[rank - 1][:-1]
    for word in tail[5:15]:
        yield "prefix", word[:-1]


def rare_phrases_from_bodies(vocabulary: Vocabulary):
    """Phrases that occur in a handful of posts: a long-tail word and the word after it, taken from
    the bodies of five fixed posts."""
    from publishing.models import Post

    tail = set(vocabulary.tail)
    for n in (100, 20_000, 40_000, 60_000, 80_000):
        post = Post.objects.filter(slug=f"bench-{n:06d}").only("body").first()
        words = [w.strip(".").lower() for w in post.body.split()] if post else []
        for first, second in zip(words, words[1:]):
            if first in tail:
                yield "phrase", f'"{first} {second}"'
                break


def pick_queries(vocabulary: Vocabulary, posts: int, deadline: Deadline) -> dict[tuple[str, str], list[tuple[str, int]]]:
    from publishing.models import Post
    from publishing.search import build_query

    cells: dict[tuple[str, str], list[tuple[str, int]]] = {(c, k): [] for c in CLASSES for k in KINDS}
    cells[EXTRA_CELL] = []
    for kind, query in rare_phrases_from_bodies(vocabulary):
        cells[("rare", kind)].append((query, Post.objects.published().filter(search_vector=build_query(query)).count()))
    for kind, query in candidate_queries(vocabulary):
        deadline.check("picking queries")
        matches = Post.objects.published().filter(search_vector=build_query(query)).count()
        cls = classify(matches, posts)
        if cls and (cls, kind) in cells and len(cells[(cls, kind)]) < PER_CELL:
            cells[(cls, kind)].append((query, matches))
    return cells


# --- measuring --------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def naive_sql(query: str) -> tuple[str, list]:
    from django.contrib.postgres.search import SearchRank
    from django.db.models import F

    from publishing.models import Post
    from publishing.search import WEIGHTS, build_query

    tsquery = build_query(query)
    queryset = (Post.objects.published().filter(search_vector=tsquery)
                .annotate(rank=SearchRank(F("search_vector"), tsquery, weights=WEIGHTS, cover_density=True))
                .order_by("-rank", "-published_at").values("pk", "rank")[:10])
    return queryset.query.sql_with_params()


def measure_naive(queries: list[str], repeats: int, deadline: Deadline) -> list[float]:
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for query in queries:
            sql, params = naive_sql(query)
            cursor.execute(sql, params)  # warm
            cursor.fetchall()
            for _ in range(repeats):
                deadline.check("timing the naive SQL")
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure_page(client, queries: list[str], repeats: int, deadline: Deadline) -> tuple[list[float], dict[str, int]]:
    """Timings, and how many results the first page showed per query."""
    def get(query: str) -> None:
        response = client.get("/search/", {"q": query})
        if response.status_code != 200:
            raise BenchError(f"/search/?q={query} answered {response.status_code}.")
        found[query] = response.content.count(b"<article>")

    found: dict[str, int] = {}

    for query in queries:
        get(query)  # warm
    timings = []
    for _ in range(repeats):
        for query in queries:
            deadline.check("timing the search page")
            started = time.perf_counter()
            get(query)
            timings.append((time.perf_counter() - started) * 1000)
    return timings, found


# --- reporting --------------------------------------------------------------------------------

def results_table(rows: list[dict], posts: int) -> str:
    lines = [
        "| class | kind | queries (share of posts matched; results on page 1) | search page median / p95 (ms) | naive SQL median / p95 (ms) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        queries = ", ".join(f"`{q}` ({m / posts:.2%}; {row['found'].get(q, 0)})" for q, m in row["queries"]) or "none found"
        page = f"{statistics.median(row['page']):.1f} / **{percentile(row['page'], 95):.1f}**" if row["page"] else "–"
        naive = f"{statistics.median(row['naive']):.1f} / {percentile(row['naive'], 95):.1f}" if row["naive"] else "–"
        lines.append(f"| {row['class']} | {row['kind']} | {queries} | {page} | {naive} |")
    return "\n".join(lines)


def machine(url: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return machine_description(postgres=postgres, packages={"Django": "Django"},
                               where=f"on {database_server(url)} (same machine), database `{database_name(url)}`")


def report_markdown(*, table: str, machine_lines: list[str], params: SeedParameters, command: str,
                    repeats: int, naive_repeats: int) -> str:
    lines = [f"Measured {measured_at()} with", "", "```sh", command, "```", ""]
    lines += [f"- {item}" for item in machine_lines]
    lines += [f"- Data: {params.describe()}",
              f"- Search page: `django.test.Client` GET `/search/?q=…`, relevance order, first page (10 results "
              f"with headlines), `DEBUG=0`, warm; {repeats} rounds over each cell's queries. Naive SQL: every match "
              f"ranked by `ts_rank_cd` over the full vector, `LIMIT 10`, {naive_repeats} rounds.",
              "", table, ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.timeout)
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = with_database_name(server_url, args.database_name)
    if ensure_database(url):
        log(f"Created database {args.database_name}")
    with static_root() as static_folder:
        setup_django(url, static_folder)
        return measure(args, argv, url, deadline)


def measure(args, argv: list[str], url: str, deadline: Deadline) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from publishing.search import REFRESH_SQL

    log("Migrating")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    params = SeedParameters(posts=args.posts)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{max(1, int(deadline.left()))}s"])
    raw = connection.connection  # psycopg connection, autocommit as Django keeps it
    log("Seeding (or reusing) the generated posts")
    if seed(raw, params, refresh_sql=REFRESH_SQL, log=log, timeout=deadline.left()):
        log("Seeded")
    else:
        log("Reusing the posts seeded with the same parameters")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE publishing_post")
        cursor.execute("SET statement_timeout = '60s'")
    log("Picking queries by frequency class")
    cells = pick_queries(Vocabulary(params), args.posts, deadline)
    client = Client()
    rows = []
    for cls, kind in [(c, k) for c in CLASSES for k in KINDS] + [EXTRA_CELL]:
        picked = cells[(cls, kind)]
        queries = [q for q, _ in picked]
        log(f"{cls} × {kind}: {', '.join(queries) or 'no query found'}")
        page, found = measure_page(client, queries, args.repeats, deadline) if queries else ([], {})
        naive = measure_naive(queries, args.naive_repeats, deadline) if queries else []
        rows.append({"class": cls, "kind": kind, "queries": picked, "page": page, "naive": naive, "found": found})
    table = results_table(rows, args.posts)
    print(table)
    body = report_markdown(table=table, machine_lines=machine(url), params=params,
                           command=command_line("search_scale.py", argv),
                           repeats=args.repeats, naive_repeats=args.naive_repeats)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, body, marker=MARKER, preamble=PREAMBLE)
        log(f"Wrote the search section of {DOCS_PAGE}")
    worst = max((percentile(r["page"], 95) for r in rows if r["page"] and (r["class"], r["kind"]) != EXTRA_CELL), default=0.0)
    log(f"Worst p95 through the search page: {worst:.1f} ms (target {TARGET_MS} ms)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        log(f"Benchmark failed: {exc}")
        sys.exit(1)
