"""Pages, API answers, commands and jobs that read across the whole site, when every table is large.

    python bench/big_site.py [--scale 1.0] [--only WORD] [--database NAME] [--jobs] [--keep]

`bench/big_history.py` grows one object; this grows the site, as one that has run for years has it.
In one process, against a database of its own (`pressroom_site_bench`, or `--database`, on the
server DATABASE_URL names, created and migrated here), `DEBUG=0` as in production:

1. **Seed** the small site of `tests/populated.py` (through the services), then SQL copies of its
   own rows (`INSERT … SELECT generate_series`; every constraint and trigger applies): 3,000 more
   users; 1,000,000 tasks created over three years by them (completed, failed, cancelled, timed
   out, a few hundred queued and running among the newest; costs and tokens varying; 1,000 awaiting
   review), 13 events each for the newest 100,000; 300,000 decisions; 200,000 posts (95 %
   published, one every 8 minutes back, spread over the categories and tags); 1,000,000 webhook
   attempts, one every 10 s back (so a fifth are past the 90 days kept). `--scale` multiplies them.
   The rows are reused when they are there.
2. **Each page** through `django.test.Client` (the superuser, the editor or the reviewer): status,
   bytes, SQL statements (`CaptureQueriesContext`) and the median of three timed runs; then
   `manage.py queue_status`; with `--jobs`, the minute and daily jobs (the daily housekeeping
   deletes the old attempts, so it runs last and once).
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.big_history import arguments, copy_rows, measure, print_table, scaled, served_in_this_process  # noqa: E402
from bench.harness import log  # noqa: E402

DATABASE = "pressroom_site_bench"
SIZES = {"users": 3_000, "tasks": 1_000_000, "evented_tasks": 100_000, "decisions": 300_000, "posts": 200_000,
         "deliveries": 1_000_000}
EVENTS_PER_TASK = 13
METRICS_TOKEN = "bench-metrics-token-0123456789"
# One task every 94.6 s back: a million over three years.
TASK_CREATED = "now() - make_interval(secs => g * 94.6)"
TASK_STATUS = ("CASE WHEN g <= 2000 AND g %% 10 = 0 THEN 'queued' WHEN g <= 2000 AND g %% 10 = 1 THEN 'running' "
               "WHEN g %% 100 < 8 THEN 'failed' WHEN g %% 100 < 11 THEN 'cancelled' WHEN g %% 100 = 11 "
               "THEN 'timed_out' ELSE 'completed' END")


def seed(scale: float) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    n = scaled(SIZES, scale)
    users = get_user_model().objects
    ids = {name: users.get(username=f"mig_{name}").pk for name in ("root", "editor", "reviewer")}
    if not users.filter(username__startswith="site-user-").exists():
        with transaction.atomic():
            grow(n, ids)
    return ids


def step(label: str, started: list) -> None:
    log(f"  {label}: {time.perf_counter() - started[0]:.1f} s")
    started[0] = time.perf_counter()


def one_of(table: str) -> str:
    """An SQL expression of `g` that goes round every row of `table` (read once per statement)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        rows = cursor.fetchone()[0]
    return f"(SELECT array_agg(id ORDER BY id) FROM {table})[1 + g %% {rows}]"


def grow(n: dict, ids: dict) -> None:
    from django.db import connection

    from publishing.models import Post
    from publishing.webhooks.models import WebhookDelivery
    from tasks.models import GenerationTask

    clock = [time.perf_counter()]
    log("Growing the whole site")
    copy_rows("auth_user", f"id = {ids['editor']}", n["users"],
              {"username": "'site-user-' || g", "email": "'site' || g || '@example.org'"})
    step(f"{n['users']:,} users", clock)
    template = Post.objects.get(slug="composting-at-home").task_id
    status = TASK_STATUS
    finished = (f"CASE WHEN ({status}) IN ('queued', 'running') THEN NULL "
                f"ELSE {TASK_CREATED} + interval '3 minutes' END")
    copy_rows("tasks_generationtask", f"id = '{template}'", n["tasks"], {
        "id": "gen_random_uuid()", "topic": "'Site topic ' || g", "title": "'Site task ' || g",
        "status": status,
        "phase": f"CASE WHEN ({status}) = 'running' THEN 'draft' ELSE '' END",
        "approval_status": (f"CASE WHEN ({status}) <> 'completed' THEN 'pending' WHEN g <= 50000 AND g %% 50 = 0 "
                            "THEN 'pending' WHEN g %% 10 = 9 THEN 'rejected' ELSE 'approved' END"),
        "created_by_id": one_of("auth_user"),
        "actual_cost": "round((g %% 997) * 0.0002, 4)", "estimated_cost": "round((g %% 991) * 0.0002, 4)",
        "input_tokens": "2000 + g %% 3000", "output_tokens": "1000 + g %% 2500",
        "created_at": TASK_CREATED, "updated_at": TASK_CREATED, "queued_at": TASK_CREATED,
        "available_at": TASK_CREATED,
        "started_at": f"CASE WHEN ({status}) = 'queued' THEN NULL ELSE {TASK_CREATED} + interval '5 seconds' END",
        "finished_at": finished,
        "heartbeat_at": f"CASE WHEN ({status}) = 'running' THEN now() ELSE NULL END",
        "worker": f"CASE WHEN ({status}) = 'running' THEN 'worker-1' ELSE '' END",
        "event_sequence": str(EVENTS_PER_TASK), "idempotency_key": "''", "idempotency_fingerprint": "''",
        "error": f"CASE WHEN ({status}) IN ('failed', 'timed_out') THEN 'boom' ELSE '' END",
    })
    step(f"{n['tasks']:,} tasks", clock)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_taskevent (task_id, sequence, kind, status, phase, progress, message, data, created_at) "
            "SELECT t.id, s, CASE s WHEN 1 THEN 'created' WHEN %s THEN 'status' ELSE 'progress' END, "
            "CASE s WHEN 1 THEN 'queued' WHEN %s THEN t.status ELSE 'running' END, "
            "(ARRAY['research','draft','qa','image','format'])[1 + s %% 5], least(100, s * 8), 'Step ' || s, "
            "'{}'::jsonb, t.created_at + make_interval(secs => s * 10) "
            "FROM (SELECT id, status, created_at FROM tasks_generationtask WHERE title LIKE 'Site task %%' "
            "ORDER BY created_at DESC LIMIT %s) t, generate_series(1, %s) s",
            [EVENTS_PER_TASK, EVENTS_PER_TASK, n["evented_tasks"], EVENTS_PER_TASK])
        cursor.execute("ANALYZE tasks_taskevent")
        step(f"{n['evented_tasks'] * EVENTS_PER_TASK:,} events", clock)
        cursor.execute(
            "INSERT INTO content_approvalevent (id, decision, feedback, reasons, created_at, actor_id, task_id, "
            "revision_requested) "
            "SELECT gen_random_uuid(), CASE approval_status WHEN 'rejected' THEN 'rejected' ELSE 'approved' END, "
            "CASE approval_status WHEN 'rejected' THEN 'Shorter, please' ELSE '' END, "
            "CASE approval_status WHEN 'rejected' THEN ARRAY['length']::varchar[] ELSE '{}'::varchar[] END, "
            "finished_at + interval '1 hour', %s, id, false "
            "FROM tasks_generationtask WHERE title LIKE 'Site task %%' AND approval_status <> 'pending' "
            "ORDER BY created_at DESC LIMIT %s", [ids["reviewer"], n["decisions"]])
        cursor.execute("ANALYZE content_approvalevent")
        step(f"{n['decisions']:,} decisions", clock)
    note = Post.objects.get(slug="a-note-from-the-editors").pk
    published = "now() - make_interval(mins => g * 8)"
    copy_rows("publishing_post", f"id = '{note}'", n["posts"], {
        "id": "gen_random_uuid()", "slug": "'site-post-' || g", "title": "'Site post ' || g",
        "published_at": f"CASE WHEN g %% 20 = 0 THEN NULL ELSE {published} END",
        "live_recorded_at": f"CASE WHEN g %% 20 = 0 THEN NULL ELSE {published} END",
        "created_at": published, "updated_at": published,
        "category_id": one_of("publishing_category"),
    })
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO publishing_post_tags (post_id, tag_id) SELECT p.id, t.id FROM publishing_post p "
                       "JOIN LATERAL (SELECT id FROM publishing_tag ORDER BY md5(id::text || p.slug) LIMIT 2) t "
                       "ON true WHERE p.slug LIKE 'site-post-%%'")
        cursor.execute("ANALYZE publishing_post_tags")
    step(f"{n['posts']:,} posts", clock)
    delivery = WebhookDelivery.objects.order_by("id").first().pk
    created = "now() - make_interval(secs => g * 10)"
    copy_rows("publishing_webhookdelivery", f"id = {delivery}", n["deliveries"], {
        "subscription_id": one_of("publishing_webhooksubscription"),
        "event_id": "'evt_site_' || g", "event": "'task.completed'", "attempt": "1",
        "status": "CASE WHEN g %% 50 = 0 THEN 'failed' ELSE 'succeeded' END",
        "response_code": "CASE WHEN g %% 50 = 0 THEN 503 ELSE 200 END",
        "scheduled_at": created, "started_at": created, "finished_at": created, "created_at": created,
    })
    step(f"{n['deliveries']:,} webhook attempts", clock)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    GenerationTask.objects.count()


def pages(ids: dict) -> list[tuple[str, str, str, str, dict]]:
    """(label, viewer, method, path, extra): extra is the request's body or headers."""
    task_body = {"data": {"task_type": "blog_post", "topic": "Winter pruning of fruit trees", "word_count": 800},
                 "content_type": "application/json"}
    metrics = {"HTTP_AUTHORIZATION": f"Bearer {METRICS_TOKEN}"}
    return [
        ("dashboard, superuser", "root", "get", "/admin/", {}),
        ("dashboard, editor", "editor", "get", "/admin/", {}),
        ("dashboard, reviewer", "reviewer", "get", "/admin/", {}),
        ("review queue", "reviewer", "get", "/admin/dashboard/queue/", {}),
        ("feedback analytics", "root", "get", "/admin/feedback-analytics/", {}),
        ("budgets list (spend)", "root", "get", "/admin/tasks/costbudget/", {}),
        ("budget page (spend)", "root", "get", f"/admin/tasks/costbudget/{ids['budget']}/change/", {}),
        ("task list (admin)", "root", "get", "/admin/tasks/generationtask/", {}),
        ("task list p=5000 (admin)", "root", "get", "/admin/tasks/generationtask/?p=5000", {}),
        ("task list status=failed (admin)", "root", "get", "/admin/tasks/generationtask/?status__exact=failed", {}),
        ("task list search (admin)", "root", "get", "/admin/tasks/generationtask/?q=pruning", {}),
        ("task list, editor (admin)", "editor", "get", "/admin/tasks/generationtask/", {}),
        ("post list (admin)", "root", "get", "/admin/publishing/post/", {}),
        ("post list p=5000 (admin)", "root", "get", "/admin/publishing/post/?p=5000", {}),
        ("post list search (admin)", "root", "get", "/admin/publishing/post/?q=garden", {}),
        ("deliveries list (admin)", "root", "get", "/admin/publishing/webhookdelivery/", {}),
        ("deliveries list p=5000 (admin)", "root", "get", "/admin/publishing/webhookdelivery/?p=5000", {}),
        ("deliveries failed (admin)", "root", "get", "/admin/publishing/webhookdelivery/?status__exact=failed", {}),
        ("decisions list (admin)", "root", "get", "/admin/content/approvalevent/", {}),
        ("decisions list p=5000 (admin)", "root", "get", "/admin/content/approvalevent/?p=5000", {}),
        ("events list (admin)", "root", "get", "/admin/tasks/taskevent/", {}),
        ("task list (API), superuser", "root", "get", "/api/tasks", {}),
        ("task list page 5000 (API)", "root", "get", "/api/tasks?page=5000", {}),
        ("task list status=failed (API)", "root", "get", "/api/tasks?status=failed", {}),
        ("task list (API), editor", "editor", "get", "/api/tasks", {}),
        ("public API: posts", "", "get", "/api/posts", {}),
        ("public API: posts page 5000", "", "get", "/api/posts?page=5000", {}),
        ("blog: home", "", "get", "/", {}),
        ("blog: home page 500", "", "get", "/?page=500", {}),
        ("blog: category page", "", "get", "/category/gardening/", {}),
        ("blog: RSS", "", "get", "/feeds/rss/", {}),
        ("blog: Atom", "", "get", "/feeds/atom/", {}),
        ("blog: sitemap index", "", "get", "/sitemap.xml", {}),
        ("blog: sitemap, posts page 4", "", "get", "/sitemap-posts.xml?p=4", {}),
        ("metrics scrape", "", "get", "/metrics", metrics),
        ("readyz", "", "get", "/readyz", {}),
        ("cost estimate (API)", "editor", "post", "/api/tasks/estimate", task_body),
        ("task create (API)", "editor", "post", "/api/tasks", task_body),
    ]


def timed(label: str, call) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = call()
    row = {"page": label, "path": "", "status": "", "bytes": 0, "queries": len(queries),
           "ms": (time.perf_counter() - started) * 1000}
    log(f"{label}: {len(queries)} q {row['ms']:.0f} ms -> {str(result)[:200]}")
    return row


def commands_and_jobs(jobs: bool) -> list[dict]:
    from django.core.management import call_command

    rows = [timed("manage.py queue_status", lambda: call_command("queue_status", stdout=io.StringIO()))]
    if jobs:
        from publishing import jobs as publishing_jobs
        from tasks import jobs as task_jobs

        rows.append(timed("job: reconcile", task_jobs.reconcile))
        rows.append(timed("job: record_due_publications", publishing_jobs.record_due_publications))
        rows.append(timed("job: housekeeping (deletes)", publishing_jobs.housekeeping))
    return rows


def main(argv: list[str]) -> int:
    parser = arguments(__doc__, DATABASE)
    parser.add_argument("--jobs", action="store_true", help="also run the jobs (housekeeping deletes old attempts)")
    args = parser.parse_args(argv)
    served_in_this_process(args.database, PRESSROOM_METRICS_TOKEN=METRICS_TOKEN, PRESSROOM_MONTHLY_BUDGET="100000",
                           PRESSROOM_TASK_CREATE_RATE="1000/hour", LOG_LEVEL="WARNING")
    started = time.perf_counter()
    ids = seed(args.scale)
    from tasks.models import CostBudget
    ids["budget"] = CostBudget.objects.get(user_id=ids["editor"]).pk
    log(f"Seeded in {time.perf_counter() - started:.1f} s")
    print_table(measure(pages(ids), ids, args.only) + (commands_and_jobs(args.jobs) if not args.only else []))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
