"""Admin lists and the task API at many tasks: each page as the code serves it (planned for its
values) next to the same page with generic plans, which prepared statements could give it.

    python bench/admin_plans.py [--tasks 50000] [--repeats 5] [--write-docs]

In one process, against a database of its own (`pressroom_bench_admin_plans` on the server
DATABASE_URL names, created and migrated here), `DEBUG=0` and prepared statements as in
production (`DATABASE_PREPARED_STATEMENTS`, on by default):

1. **Seed** `--tasks` tasks (reused when that many are there): one made by `task_create`, copied
   by SQL with a skewed status mix as a busy site has (94 % completed, 3 % failed, 2 % queued,
   1 % running), 30 % awaiting review, one in ten by an editor, the rest by a superuser.
2. **Each page, two ways**, through `django.test.Client` (the full view, template and middleware),
   as the superuser and as the editor (who sees only their own tasks):
   - *as served*: the code as it is, every admin page that reads and the task list planned for
     their values (`config.postgresql.planned_for_its_values`);
   - *generic plans*: that planning turned off in this process and `plan_cache_mode =
     force_generic_plan` on the connection: what PostgreSQL may choose for a prepared statement
     once it has run five times and it estimates the generic plan no dearer.
   Each page runs five times first (so its statements are prepared), then `--repeats` timed runs;
   the median is reported.

With `--write-docs` the section "Admin lists with prepared statements" of docs/performance.md is
rewritten between its markers. Every statement has a 60 s `statement_timeout`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    BenchError,
    add_database_argument,
    django_in_this_process,
    ensure_database,
    log,
    static_root,
    with_database_name,
)
from bench.report import DOCS_PAGE, command_line, machine_description, measured_at, write_docs_section  # noqa: E402

MARKER = "admin-plans-benchmark"
PREAMBLE = "## Admin lists with prepared statements\n\n"
WARM_RUNS = 5  # PostgreSQL prepares a statement psycopg has sent five times (prepare_threshold)
TASKS_PATH = "/admin/tasks/generationtask/"
PAGES = [
    ("task list", TASKS_PATH),
    ("running tasks", f"{TASKS_PATH}?status__exact=running"),
    ("queued tasks", f"{TASKS_PATH}?status__exact=queued"),
    ("completed tasks", f"{TASKS_PATH}?status__exact=completed"),
    ("review queue", f"{TASKS_PATH}?review=awaiting"),
    ("search a word", f"{TASKS_PATH}?q=gardening"),
    ("tasks of this year", f"{TASKS_PATH}?created_at__year={time.gmtime().tm_year}"),
    ("dashboard", "/admin/"),
    ("API: task list", "/api/tasks"),
    ("API: running tasks", "/api/tasks?status=running"),
]
VIEWERS = ("superuser", "editor")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50_000, help="tasks to seed")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each page, each way")
    add_database_argument(parser, "pressroom_bench_admin_plans")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the admin plans section of {DOCS_PAGE}")
    args = parser.parse_args(argv)
    if not 1000 <= args.tasks <= 1_000_000 or not 1 <= args.repeats <= 100:
        parser.error("--tasks 1,000–1,000,000, --repeats 1–100")
    return args


# --- the tasks ------------------------------------------------------------------------------------

def viewers() -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from publishing.roles import EDITORS

    users = get_user_model().objects
    superuser, _ = users.get_or_create(username="bench-superuser", defaults={"is_staff": True, "is_superuser": True})
    editor, _ = users.get_or_create(username="bench-editor", defaults={"is_staff": True})
    editor.groups.add(Group.objects.get(name=EDITORS))
    return {"superuser": superuser, "editor": editor}


def seed(tasks: int, users: dict) -> int:
    """`tasks` tasks in the database (copies of one made by the service); how many were added."""
    from django.db import connection

    from tasks.services import task_create

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tasks_generationtask")
        missing = tasks - cursor.fetchone()[0]
    if missing <= 0:
        return 0
    template, _ = task_create(created_by=users["superuser"], brief={"topic": "The template of the seeded tasks"})
    varied = ["id", "status", "created_at", "created_by_id", "topic", "title", "finished_at", "approval_status"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks_generationtask'")
        copied = ", ".join(f'"{name}"' for (name,) in cursor.fetchall() if name not in varied)
        cursor.execute(
            f'INSERT INTO tasks_generationtask ({", ".join(varied)}, {copied}) '
            "SELECT gen_random_uuid(), "
            "CASE WHEN g %% 100 < 94 THEN 'completed' WHEN g %% 100 < 97 THEN 'failed' "
            "     WHEN g %% 100 < 99 THEN 'queued' ELSE 'running' END, "
            "now() - make_interval(mins => g), "
            "CASE WHEN g %% 10 = 0 THEN %s ELSE %s END, "
            "'Topic ' || g || ' about ' || (ARRAY['python', 'postgres', 'gardening', 'economics', 'travel'])[1 + g %% 5], "
            "'Title ' || g, "
            "CASE WHEN g %% 100 < 97 THEN now() - make_interval(mins => g) + interval '3 minutes' END, "
            "CASE WHEN g %% 100 < 30 THEN 'pending' WHEN g %% 100 < 90 THEN 'approved' ELSE 'rejected' END, "
            f"{copied} FROM tasks_generationtask, generate_series(1, %s) AS g WHERE id = %s",
            [users["editor"].pk, users["superuser"].pk, missing - 1, template.pk],
        )
        cursor.execute("ANALYZE tasks_generationtask")
    return missing


# --- the pages ------------------------------------------------------------------------------------

@contextlib.contextmanager
def generic_plans():
    """The code's planning turned off in this process, and generic plans forced on the connection."""
    from unittest import mock

    from django.db import connection

    @contextlib.contextmanager
    def unplanned(model=None):
        yield

    targets = ["config.admin_site.planned_for_its_values", "tasks.api.views.planned_for_its_values"]
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(mock.patch(target, unplanned))
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET plan_cache_mode")


def page_median(client, path: str, repeats: int) -> float:
    timings = []
    for run in range(WARM_RUNS + repeats):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchError(f"GET {path} answered {response.status_code}")
        if run >= WARM_RUNS:
            timings.append(elapsed)
    return statistics.median(timings)


def fresh_connection() -> None:
    """A new connection (nothing prepared yet), its statements bounded in time."""
    from django.db import connection

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '60s'")


def measure(users: dict, repeats: int) -> list[dict]:
    from django.test import Client

    rows = []
    for viewer in VIEWERS:
        client = Client()
        client.force_login(users[viewer])
        for name, path in PAGES:
            fresh_connection()
            served = page_median(client, path, repeats)
            fresh_connection()
            with generic_plans():
                generic = page_median(client, path, repeats)
            log(f"{viewer:9s} {name:20s} as served {served:7.1f} ms, generic plans {generic:7.1f} ms")
            rows.append({"viewer": viewer, "page": name, "path": path, "served": served, "generic": generic})
    return rows


def results_table(rows: list[dict]) -> str:
    lines = ["| viewer | page | as served (ms) | generic plans (ms) | generic ÷ served |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['viewer']} | {row['page']} (`{row['path']}`) | {row['served']:.1f} | "
                     f"{row['generic']:.1f} | {row['generic'] / row['served']:.2f} |")
    return "\n".join(lines) + "\n"


def report_markdown(*, table: str, url: str, tasks: int, repeats: int, command: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    machine = "\n".join(f"- {line}" for line in machine_description(
        postgres=f"PostgreSQL {version}", where="(on the same machine)"))
    return (
        f"Measured {measured_at()} with\n\n```sh\n{command}\n```\n\n{machine}\n"
        f"- {tasks:,} tasks; median of {repeats} runs per page after {WARM_RUNS} unmeasured ones\n\n{table}\n"
        "- *As served*: the code as it is: admin pages that read and the task list run planned for "
        "their values (`config.postgresql.planned_for_its_values`).\n"
        "- *Generic plans*: the same page with that planning turned off and `plan_cache_mode = "
        "force_generic_plan`: the plan PostgreSQL may give a prepared statement after five runs when it "
        "estimates it no dearer, which for a rare status is the plan made for the common ones.\n"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = with_database_name(server_url, args.database_name)
    if ensure_database(url):
        log(f"Created database {args.database_name}")
    with static_root() as static_folder:
        django_in_this_process(url, SECURE_SSL_REDIRECT="0", STATIC_ROOT=static_folder, DATABASE_CONN_MAX_AGE="600")
        from django.core.management import call_command
        log("Migrating")
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        users = viewers()
        added = seed(args.tasks, users)
        log(f"Seeded {added} tasks" if added else f"Reusing the {args.tasks} tasks already there")
        rows = measure(users, args.repeats)
        table = results_table(rows)
        print(table)
        if args.write_docs:
            body = report_markdown(table=table, url=url, tasks=args.tasks, repeats=args.repeats,
                                   command=command_line("admin_plans.py", argv))
            write_docs_section(DOCS_PAGE, body, marker=MARKER, preamble=PREAMBLE)
            log(f"Wrote the admin plans section of {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        sys.exit(f"admin_plans: {error}")
