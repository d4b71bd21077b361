"""Pages, API answers and sockets of one object with a huge history, as a long-lived site has them.

    python bench/big_history.py [--scale 1.0] [--only WORD] [--database NAME]

In one process, against a database of its own (`pressroom_history_bench`, or `--database`, on the
server DATABASE_URL names, created and migrated here), `DEBUG=0` as in production:

1. **Seed** the small site of `tests/populated.py` (through the services), then grow one object of
   each kind by SQL copies of its own rows (every constraint and trigger applies): the approved
   task gets 100,000 events, 1,000 versions, 300 decisions and 200 checkpoints; the hand-written
   post 2,000 change records; the editor 10,000 tasks and 2,000 budget changes; the category
   "Gardening" and the tag "compost" 50,000 published posts; the site 5,000 more users, categories
   and tags; the subscription "Search index" 100,000 delivery attempts. `--scale` multiplies them.
   The rows are reused when they are there.
2. **Each page** through `django.test.Client` as the superuser (the editor for the dashboard): the
   status, bytes, SQL statements (`CaptureQueriesContext`) and the median of three timed runs; the
   task socket's `?after=0` catch-up through channels' `WebsocketCommunicator`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import django_in_this_process, ensure_database, log, with_database_name  # noqa: E402

DATABASE = "pressroom_history_bench"
SIZES = {"events": 100_000, "versions": 1_000, "decisions": 300, "checkpoints": 200, "post_changes": 2_000,
         "user_tasks": 10_000, "budget_changes": 2_000, "posts": 50_000, "users": 5_000, "categories": 5_000,
         "tags": 5_000, "deliveries": 100_000}
RUNS = 3


def copy_rows(table: str, template_where: str, count: int, varied: dict[str, str]) -> None:
    """`count` copies of the one row of `table` matching `template_where`, `varied` columns set by
    SQL expressions of `g` (1..count), the rest copied."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                       "AND is_generated = 'NEVER'", [table])
        copied = [f'"{name}"' for (name,) in cursor.fetchall() if name not in varied and name != "id"]
        names = ", ".join([*(f'"{name}"' for name in varied), *copied])
        values = ", ".join([*varied.values(), *copied])
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {values} FROM {table}, generate_series(1, %s) AS g "
                       f"WHERE {template_where}", [count])
        cursor.execute(f"ANALYZE {table}")


def scaled(sizes: dict, scale: float) -> dict:
    """The sizes times `scale` (at least one of each), once the small site of `tests/populated.py`
    is there (written through the services the first time)."""
    from django.contrib.auth import get_user_model

    from tests.populated import populate

    if not get_user_model().objects.filter(username="mig_editor").exists():
        log("Populating through the services")
        populate()
    return {key: max(1, int(value * scale)) for key, value in sizes.items()}


def seed(scale: float) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from publishing.models import Category, Post, Tag
    from publishing.webhooks.models import WebhookSubscription
    from tasks.models import GenerationTask
    n = scaled(SIZES, scale)
    users = get_user_model().objects
    editor = users.get(username="mig_editor")
    task = Post.objects.get(slug="composting-at-home").task
    post = Post.objects.get(slug="a-note-from-the-editors")
    hook = WebhookSubscription.objects.get(name="Search index")
    gardening, compost = Category.objects.get(name="Gardening"), Tag.objects.get(name="compost")
    ids = {"task": task.pk, "post": post.pk, "editor": editor.pk, "hook": hook.pk, "category": gardening.slug,
           "tag": compost.slug, "root": users.get(username="mig_root").pk, "category_pk": gardening.pk,
           "tag_pk": compost.pk}
    if users.filter(username__startswith="bulk-user-").exists():
        return ids
    log("Growing one object of each kind")
    with transaction.atomic():
        grow(n, task, post, editor, hook, gardening, compost)
    return ids


def grow(n, task, post, editor, hook, gardening, compost) -> None:
    from django.db import connection

    from content.models import ApprovalEvent, ContentVersion
    from publishing.models import PostChange
    from tasks.models import GenerationTask

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(sequence), min(id) FROM tasks_taskevent WHERE task_id = %s", [task.pk])
        last, first_event = cursor.fetchone()
    copy_rows("tasks_taskevent", f"id = {first_event}",
              n["events"], {"sequence": f"{last} + g", "kind": "'progress'", "status": "'running'",
                            "phase": "(ARRAY['research','draft','qa','image','format'])[1 + (g / 20000) %% 5]",
                            "message": "'Step ' || g", "created_at": "now() - make_interval(secs => 100000 - g)"})
    GenerationTask.objects.filter(pk=task.pk).update(event_sequence=last + n["events"])
    draft = ContentVersion.objects.filter(task=task, phase="draft").order_by("number").first()
    top = ContentVersion.objects.filter(task=task).order_by("-number").first().number
    copy_rows("content_contentversion", f"id = '{draft.pk}'", n["versions"],
              {"id": "gen_random_uuid()", "number": f"{top} + g", "phase": "(ARRAY['draft','format'])[1 + g %% 2]",
               "title": "'Revision ' || g", "body": "body || E'\\n\\nRound ' || g",
               "created_at": "now() - make_interval(secs => 10000 - g)"})
    rejected = ApprovalEvent.objects.filter(task=task).order_by("created_at").first()
    copy_rows("content_approvalevent", f"id = '{rejected.pk}'", n["decisions"],
              {"id": "gen_random_uuid()", "decision": "'rejected'", "reasons": "ARRAY['length']::varchar[]",
               "feedback": "'Shorter, round ' || g", "created_at": "now() - make_interval(secs => 5000 - g)"})
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO tasks_stagecheckpoint (task_id, stage, revision, attempt, data, completed_at) "
                       "SELECT %s, 'draft', g, 1, '{}'::jsonb, now() FROM generate_series(1, %s) g",
                       [task.pk, n["checkpoints"]])
    change = PostChange.objects.filter(post=post).order_by("created_at").first()
    copy_rows("publishing_postchange", f"id = '{change.pk}'", n["post_changes"],
              {"id": "gen_random_uuid()", "kind": "'edited'", "created_at": "now() - make_interval(secs => 5000 - g)"})
    mine = GenerationTask.objects.filter(created_by=editor).order_by("created_at").first()
    copy_rows("tasks_generationtask", f"id = '{mine.pk}'", n["user_tasks"],
              {"id": "gen_random_uuid()", "topic": "'Bulk topic ' || g", "title": "'Bulk task ' || g",
               "status": "'completed'", "finished_at": "now() - make_interval(mins => g)",
               "created_at": "now() - make_interval(mins => g)"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM tasks_costbudgetchange WHERE user_id = %s", [editor.pk])
        budget_change = cursor.fetchone()[0]
    copy_rows("tasks_costbudgetchange", f"id = {budget_change}", n["budget_changes"],
              {"reason": "'Change ' || g", "changed_at": "now() - make_interval(mins => g)"})
    copy_rows("publishing_post", f"id = '{post.pk}'", n["posts"],
              {"id": "gen_random_uuid()", "slug": "'bulk-post-' || g", "title": "'Bulk post ' || g",
               "published_at": "now() - make_interval(mins => g)"})
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO publishing_post_tags (post_id, tag_id) SELECT id, %s FROM publishing_post "
                       "WHERE slug LIKE 'bulk-post-%%'", [compost.pk])
    copy_rows("auth_user", f"id = {editor.pk}", n["users"],
              {"username": "'bulk-user-' || g", "email": "'bulk' || g || '@example.org'"})
    copy_rows("publishing_category", f"id = '{gardening.pk}'", n["categories"],
              {"id": "gen_random_uuid()", "name": "'Bulk category ' || g", "slug": "'bulk-category-' || g"})
    copy_rows("publishing_tag", f"id = '{compost.pk}'", n["tags"],
              {"id": "gen_random_uuid()", "name": "'Bulk tag ' || g", "slug": "'bulk-tag-' || g"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM publishing_webhookdelivery WHERE subscription_id = %s", [hook.pk])
        delivery = cursor.fetchone()[0]
    copy_rows("publishing_webhookdelivery", f"id = {delivery}", n["deliveries"],
              {"event_id": "'evt_bulk_' || g", "created_at": "now() - make_interval(secs => g)"})


def pages(ids: dict) -> list[tuple[str, str, str]]:
    task, post, editor, hook = ids["task"], ids["post"], ids["editor"], ids["hook"]
    return [
        ("task page (admin)", "root", f"/admin/tasks/generationtask/{task}/change/"),
        ("task diff (admin)", "root", f"/admin/tasks/generationtask/{task}/diff/"),
        ("task events list (admin)", "root", f"/admin/tasks/taskevent/?task__id__exact={task}"),
        ("task versions list (admin)", "root", f"/admin/content/contentversion/?task__id__exact={task}"),
        ("task decisions list (admin)", "root", f"/admin/content/approvalevent/?task__id__exact={task}"),
        ("task detail (API)", "root", f"/api/tasks/{task}"),
        ("task events after=0 (API)", "root", f"/api/tasks/{task}/events?after=0"),
        ("task timeline (API)", "root", f"/api/tasks/{task}/timeline"),
        ("task versions (API)", "root", f"/api/tasks/{task}/versions"),
        ("task approvals (API)", "root", f"/api/tasks/{task}/approvals"),
        ("post page (admin)", "root", f"/admin/publishing/post/{post}/change/"),
        ("post add (admin)", "root", "/admin/publishing/post/add/"),
        ("post list (admin)", "root", "/admin/publishing/post/"),
        ("post changes of one post (admin)", "root", f"/admin/publishing/postchange/?post__id__exact={post}"),
        ("category delete page (admin)", "root", f"/admin/publishing/category/{ids['category_pk']}/delete/"),
        ("tag delete page (admin)", "root", f"/admin/publishing/tag/{ids['tag_pk']}/delete/"),
        ("task brief add (admin)", "root", "/admin/tasks/generationtask/add/"),
        ("user page (admin)", "root", f"/admin/auth/user/{editor}/change/"),
        ("user delete page (admin)", "root", f"/admin/auth/user/{editor}/delete/"),
        ("budget add (admin)", "root", "/admin/tasks/costbudget/add/"),
        ("budget page (admin)", "root", f"/admin/tasks/costbudget/{ids['budget']}/change/"),
        ("budget changes of one user (admin)", "root", f"/admin/tasks/costbudgetchange/?user__id__exact={editor}"),
        ("budget form's user search (admin)", "root", "/admin/tasks/costbudget/names/user/?q=bulk-user-12"),
        ("post form's tag search (admin)", "root", "/admin/publishing/post/names/tags/?q=tag 12"),
        ("post form's category search (admin)", "root", "/admin/publishing/post/names/category/?q=gard"),
        ("task list by creator (admin)", "root", f"/admin/tasks/generationtask/?created_by__id__exact={editor}"),
        ("task list (admin)", "root", "/admin/tasks/generationtask/"),
        ("dashboard, editor", "editor", "/admin/"),
        ("task list (API), editor", "editor", "/api/tasks"),
        ("subscription page (admin)", "root", f"/admin/publishing/webhooksubscription/{hook}/change/"),
        ("subscription delete page (admin)", "root", f"/admin/publishing/webhooksubscription/{hook}/delete/"),
        ("subscription list (admin)", "root", "/admin/publishing/webhooksubscription/"),
        ("deliveries of one subscription (admin)", "root",
         f"/admin/publishing/webhookdelivery/?subscription__id__exact={hook}"),
        ("subscription (API)", "root", f"/api/webhooks/{hook}"),
        ("subscription deliveries (API)", "root", f"/api/webhooks/{hook}/deliveries"),
        ("blog: category page", "", f"/category/{ids['category']}/"),
        ("blog: category page 500", "", f"/category/{ids['category']}/?page=500"),
        ("blog: tag page", "", f"/tag/{ids['tag']}/"),
        ("blog: category RSS", "", f"/category/{ids['category']}/feeds/rss/"),
        ("blog: tag Atom", "", f"/tag/{ids['tag']}/feeds/atom/"),
        ("blog: home", "", "/"),
        ("blog: sitemap", "", "/sitemap.xml"),
        ("blog: sitemap, posts page 1", "", "/sitemap-posts.xml"),
        ("blog: sitemap, posts page 11", "", "/sitemap-posts.xml?p=11"),
        ("blog: sitemap, tags", "", "/sitemap-tags.xml"),
        ("public API: posts of the category", "", f"/api/posts?category={ids['category']}"),
    ]


def measure(pages: list[tuple[str, str, str, str, dict]], ids: dict, only: str) -> list[dict]:
    """Each page (label, viewer, method, path, request keywords) served RUNS times, the cache cleared
    before each: its status, size, statements and median time, and its slowest statement logged.
    A viewer is "" (anonymous) or a name of `ids`, whose user is logged in."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {"": Client()}
    for name in {viewer for _, viewer, _, _, _ in pages} - {""}:
        clients[name] = Client()
        clients[name].force_login(get_user_model().objects.get(pk=ids[name]))
    rows = []
    for label, viewer, method, path, extra in pages:
        if only and only not in label:
            continue
        times = []
        for _run in range(RUNS):
            cache.clear()  # the blog's page cache and the throttles: each run renders
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = getattr(clients[viewer], method)(path, **extra)
                body = b"".join(response) if response.streaming else response.content
            times.append(time.perf_counter() - started)
        rows.append({"page": label, "path": path, "status": response.status_code, "bytes": len(body),
                     "queries": len(queries), "ms": statistics.median(times) * 1000})
        slow = max(queries.captured_queries, key=lambda q: float(q["time"]), default=None)
        log(f"{label}: {rows[-1]['status']} {rows[-1]['bytes']:,} B {rows[-1]['queries']} q {rows[-1]['ms']:.0f} ms"
            + (f"; slowest {float(slow['time']) * 1000:.0f} ms: {slow['sql'][:160]}" if slow else ""))
    return rows


def socket_catch_up(ids: dict) -> dict:
    """The task socket opened with `?after=0`: frames and bytes until the last stored event."""
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth import get_user_model
    from django.test import Client

    from config.asgi import application
    from tasks.models import GenerationTask

    client = Client()
    client.force_login(get_user_model().objects.get(pk=ids["root"]))
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    last = GenerationTask.objects.get(pk=ids["task"]).event_sequence

    async def run():
        communicator = WebsocketCommunicator(application, f"/ws/tasks/{ids['task']}?after=0",
                                             headers=[(b"cookie", cookie), (b"origin", b"http://testserver"),
                                                      (b"host", b"testserver")])
        started = time.perf_counter()
        connected, _ = await communicator.connect(timeout=30)
        frames, size, sequence, first = 0, 0, 0, None
        while connected:
            try:
                text = await communicator.receive_output(timeout=10)
            except asyncio.TimeoutError:
                break
            first = first if first is not None else time.perf_counter() - started
            frames += 1
            size += len(text.get("text", "") or "")
            if '"sequence": ' in (text.get("text") or "") or '"sequence":' in (text.get("text") or ""):
                import json
                message = json.loads(text["text"])
                sequence = message.get("event", {}).get("sequence", sequence)
            if sequence >= last or text.get("type") == "websocket.close":
                break
        elapsed = time.perf_counter() - started
        await communicator.disconnect()
        return {"connected": connected, "frames": frames, "bytes": size, "last": sequence, "seconds": elapsed}

    return asyncio.run(run())


def served_in_this_process(database: str, **overrides: str) -> None:
    """Django set up here on the bench's own database (created and migrated if need be), DEBUG=0."""
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = with_database_name(server_url, database)
    if ensure_database(url):
        log(f"Created database {database}")
    # Collected for each checkout anew: a static file the manifest does not name is a 500 (DEBUG=0).
    static = Path(f"/tmp/{database}-static")
    django_in_this_process(url, SECURE_SSL_REDIRECT="0", DATABASE_CONN_MAX_AGE="600", ALLOWED_HOSTS="testserver",
                           STATIC_ROOT=str(static), **overrides)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)


def print_table(rows: list[dict]) -> None:
    print("| page | status | size | SQL statements | time (ms) |\n|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['page']} | {row['status']} | {row['bytes']:,} B | {row['queries']} | {row['ms']:.0f} |")


def arguments(doc: str, database: str) -> argparse.ArgumentParser:
    """The options both big-database benches take."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="", help="measure only the pages whose label contains this")
    parser.add_argument("--database", default=database, help="the bench's own database (sessions side by side)")
    return parser


def main(argv: list[str]) -> int:
    parser = arguments(__doc__, DATABASE)
    parser.add_argument("--socket", action="store_true", help="also open the task socket with ?after=0")
    args = parser.parse_args(argv)
    served_in_this_process(args.database)
    started = time.perf_counter()
    ids = seed(args.scale)
    from tasks.models import CostBudget
    ids["budget"] = CostBudget.objects.get(user_id=ids["editor"]).pk
    log(f"Seeded in {time.perf_counter() - started:.1f} s")
    print_table(measure([(label, viewer, "get", path, {}) for label, viewer, path in pages(ids)], ids,
                        args.only))
    if args.socket:
        print(socket_catch_up(ids))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
