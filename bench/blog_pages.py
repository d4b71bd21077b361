"""Blog page benchmark: requests per second of home, post and search pages under Gunicorn and under
Daphne, next to a minimal one-query Django view on the same server in the same run.

    python bench/blog_pages.py [--posts 1000] [--web-workers 4] [--connections 16] [--seconds 10]
                               [--cache both|on|off] [--servers both|gunicorn|daphne] [--write-docs]

Against a database of its own (`pressroom_bench_blog` on DATABASE_URL's server, created, migrated
and seeded by `bench.blog_seed` here), in production mode (DEBUG=0, hashed static files collected
into a temporary folder, `DATABASE_CONN_MAX_AGE=60` as a deployment sets it), with PostgreSQL as
the cache (REDIS_URL unset, the default setup):

1. Gunicorn (`bench.blog_wsgi`: the real settings plus `/bench/minimal`, one query and a short
   answer) with `--web-workers` sync workers listens on 127.0.0.1; then, for the same URLs, one
   Daphne process (`config.asgi` on the same settings, as `make run` serves HTTP): Django runs sync
   views on Daphne in one thread per process, so this is the single-process figure behind the
   README's advice to serve pages with Gunicorn.
2. For each URL, `wrk` (Debian's package; `apt-get install wrk`) runs `--connections` connections
   on 2 threads: a 2 s warm-up, then `--seconds` measured. Search rotates through 50 queries (a
   common word, a medium one, a phrase, a prefix...) with a small Lua script.
3. Once with the blog's page cache on (the default: `PRESSROOM_BLOG_CACHE_SECONDS=600`) and once
   with it off (`0`), so the table shows both what a reader gets and what rendering costs.
4. One table: each page and cache setting, both servers side by side, and Gunicorn ÷ Daphne.

Only 127.0.0.1 is used; every wrk run is bounded by --seconds; processes are stopped in `finally`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    BenchError,
    ManagedProcess,
    add_database_argument,
    benchmark_database_url,
    free_port,
    log,
    migrate,
    production_environment,
    run_checked,
    run_guarded,
    server_version,
    start_daphne,
    static_root,
    wait_for_healthz,
)
from scripts.supervisor import GUNICORN_OPTIONS  # noqa: E402
from bench.report import (  # noqa: E402
    DOCS_PAGE,
    command_line,
    machine_description,
    measured_at,
    package_version,
    report_body,
    write_docs_section,
)

MARKER = "blog-benchmark"
PATHS_LUA = """
local paths = {PATHS}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def rotating_paths_script(path: Path, paths: list[str]) -> Path:
    """A wrk Lua script at `path` that requests `paths` in turn (URL-quoted already)."""
    path.write_text(PATHS_LUA.replace("{PATHS}", "{" + ", ".join(f'"{p}"' for p in paths) + "}"))
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000, help="published posts to seed")
    parser.add_argument("--web-workers", type=int, default=4, help="Gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per URL")
    parser.add_argument("--cache", choices=["on", "off", "both"], default="both", help="the blog's page cache")
    parser.add_argument("--servers", choices=["both", "gunicorn", "daphne"], default="both",
                        help="measure Gunicorn, Daphne or both (in turn, on the same database)")
    add_database_argument(parser, "pressroom_bench_blog")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the blog section of {DOCS_PAGE}")
    args = parser.parse_args(argv)
    if min(args.posts, args.web_workers, args.connections, args.seconds) < 1:
        parser.error("--posts, --web-workers, --connections and --seconds must be positive")
    if args.seconds > 120:
        parser.error("--seconds is at most 120")
    return args


def environment(database_url: str, static_folder: str, *, cache_seconds: int) -> dict:
    return production_environment(
        database_url,
        DJANGO_SETTINGS_MODULE="bench.blog_settings",
        DATABASE_CONN_MAX_AGE="60",
        STATIC_ROOT=static_folder,
        LOG_LEVEL="WARNING",
        PRESSROOM_BLOG_CACHE_SECONDS=str(cache_seconds),
    )


def start_gunicorn(env: dict, *, port: int, workers: int, log_dir: Path, wsgi: str = "bench.blog_wsgi:application",
                   name: str = "gunicorn") -> tuple[ManagedProcess, str]:
    command = [
        sys.executable, "-m", "gunicorn", wsgi, "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning",
        *GUNICORN_OPTIONS,  # as scripts/serve_production.py's, without an access log like it
    ]
    process = ManagedProcess(name, command, env=env, log_dir=log_dir)
    wait_for_healthz(process, port)
    return process, f"http://127.0.0.1:{port}"


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_REQUESTS = re.compile(r"(\d+) requests in ")
WRK_LATENCY = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
WRK_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def wrk(url: str, *, connections: int, seconds: int, script: Path | None = None) -> dict:
    base = ["wrk", "-t", "2", "-c", str(connections), "--latency", "--timeout", "10s"]
    extra = ["-s", str(script)] if script else []
    subprocess.run([*base, "-d", "2s", *extra, url], capture_output=True, text=True, timeout=60, check=True)
    out = subprocess.run(
        [*base, "-d", f"{seconds}s", *extra, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rps = WRK_RPS.search(out)
    if not rps:
        raise BenchError(f"Could not read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {p: float(v) * scale[unit] for p, v, unit in WRK_LATENCY.findall(out)}
    errors = WRK_ERRORS.search(out)
    socket_errors = WRK_SOCKET_ERRORS.search(out)
    return {"rps": float(rps.group(1)), "p50": latency.get("50"), "p90": latency.get("90"), "p99": latency.get("99"),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
            "requests": int(WRK_REQUESTS.search(out).group(1))}


def check_pages(url: str, paths: list[str]) -> None:
    for path in paths:
        with urlopen(f"{url}{path}", timeout=10) as response:
            if response.status != 200:
                raise BenchError(f"{path} answered {response.status}")


def measure(args, database_url: str, static_folder: str, *, cache_seconds: int, log_dir: Path, search_lua: Path,
            post_path: str, server: str = "gunicorn") -> dict:
    env = environment(database_url, static_folder, cache_seconds=cache_seconds)
    if server == "daphne":
        port = free_port()
        process = start_daphne(env=env, port=port, log_dir=log_dir, name=f"daphne-cache-{cache_seconds}")
        url = f"http://127.0.0.1:{port}"
    else:
        process, url = start_gunicorn(env, port=free_port(), workers=args.web_workers, log_dir=log_dir,
                                      name=f"gunicorn-cache-{cache_seconds}")
    try:
        pages = {"minimal view (1 query)": "/bench/minimal", "home": "/", "post": post_path,
                 "category archive": "/category/category-1/"}
        check_pages(url, [*pages.values(), "/search/?q=kalo"])
        results = {}
        for label, path in pages.items():
            log(f"wrk {path} ({server}, cache {'on' if cache_seconds else 'off'})")
            results[label] = wrk(f"{url}{path}", connections=args.connections, seconds=args.seconds)
            process.ensure_running()
        log(f"wrk /search/ rotating queries ({server}, cache {'on' if cache_seconds else 'off'})")
        results["search (50 queries rotating)"] = wrk(
            url, connections=args.connections, seconds=args.seconds, script=search_lua
        )
        process.ensure_running()
        return results
    finally:
        process.stop()


def search_queries(database_url: str) -> list[str]:
    """Queries of every kind over words the seeded posts really contain, most common first."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM publishing_post') "
            "WHERE length(word) > 4 ORDER BY ndoc DESC"
        ).fetchall()
    words = [word for word, _ in rows]
    if len(words) < 200:
        raise BenchError("Too few distinct words in the seeded posts.")
    common, medium, rare = words[:10], words[len(words) // 10: len(words) // 10 + 15], words[-15:]
    queries = common + medium + rare
    queries += [f'"{a} {b}"' for a, b in zip(common[:5], common[1:6])]  # phrases
    queries += [word[:4] for word in medium[:5]]  # prefixes
    return [quote(q) for q in queries[:50]]


SERVER_NAMES = {"gunicorn": "Gunicorn", "daphne": "Daphne"}


def table(runs: dict[tuple[str, str], dict], *, web_workers: int) -> str:
    """One row per page and cache setting, each measured server's figures side by side
    (`runs` is keyed by (server, cache)), and Gunicorn ÷ Daphne when both ran. "errors" counts non-2xx
    answers and socket errors (connect, read, write, timeout) together."""
    servers = [server for server in SERVER_NAMES if any(key[0] == server for key in runs)]
    caches = list(dict.fromkeys(cache for _, cache in runs))
    labels = {"gunicorn": f"Gunicorn ({web_workers} workers)", "daphne": "Daphne (1 process)"}
    header = ["Page", "Cache"]
    for server in servers:
        header += [f"{labels[server]} req/s", "× minimal view", "p50 ms", "p99 ms", "errors"]
    both = len(servers) == 2
    if both:
        header.append("Gunicorn ÷ Daphne")
    lines = ["| " + " | ".join(header) + " |", "| --- | --- |" + " ---: |" * (len(header) - 2)]
    for cache in caches:
        pages = next(runs[(server, cache)] for server in servers if (server, cache) in runs)
        for label in pages:
            cells = [label, cache]
            for server in servers:
                results = runs[(server, cache)]
                result, minimal = results[label], results["minimal view (1 query)"]["rps"]
                cells += [f"{result['rps']:,.0f}", f"{result['rps'] / minimal:.2f}", f"{result['p50']:.1f}",
                          f"{result['p99']:.1f}", str(result["errors"] + result["socket_errors"])]
            if both:
                daphne = runs[("daphne", cache)][label]["rps"]
                cells.append(f"{runs[('gunicorn', cache)][label]['rps'] / daphne:.1f}×" if daphne else "—")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(args, database_url: str, log_dir: Path) -> str:
    """Prepare the database, measure each cache setting; the results table."""
    with static_root() as static_folder:
        setup_env = environment(database_url, static_folder, cache_seconds=0)
        migrate(database_url, setup_env, log_dir=log_dir, timeout=600)
        log("collectstatic, seed")
        run_checked("collectstatic", [sys.executable, "manage.py", "collectstatic", "--noinput"], env=setup_env,
                    timeout=300, log_dir=log_dir)
        run_checked("seed", [sys.executable, "-m", "bench.blog_seed", "--posts", str(args.posts)], env=setup_env,
                    timeout=1800, log_dir=log_dir)
        search_lua = rotating_paths_script(log_dir / "search.lua",
                                           [f"/search/?q={q}" for q in search_queries(database_url)])
        post_path = "/posts/post-1/"
        runs = {}
        for server in (["gunicorn", "daphne"] if args.servers == "both" else [args.servers]):
            for cache in (["on", "off"] if args.cache == "both" else [args.cache]):
                runs[(server, cache)] = measure(
                    args, database_url, static_folder, cache_seconds=600 if cache == "on" else 0, log_dir=log_dir,
                    search_lua=search_lua, post_path=post_path, server=server,
                )
        return table(runs, web_workers=args.web_workers)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    database_url = benchmark_database_url(args.database_name)
    result = run_guarded(lambda log_dir: run(args, database_url, log_dir), log_prefix="pressroom-bench-blog-")
    if result is None:
        return 1
    print(result)
    if args.write_docs:
        machine = machine_description(postgres=server_version(database_url))
        body = report_body(
            f"Run {measured_at()}: `{command_line('blog_pages.py', argv)}` — {args.posts:,} posts, Gunicorn "
            f"{package_version('gunicorn')} with {args.web_workers} sync workers and one Daphne "
            f"{package_version('daphne')} process in turn on the same machine, wrk {args.connections} connections "
            f"× {args.seconds} s per row, production settings (DEBUG=0, persistent connections), PostgreSQL as the "
            "cache.",
            machine, result,
        )
        write_docs_section(DOCS_PAGE, body, marker=MARKER)
        log(f"Wrote {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
