"""CPU per POST /api/tasks in this process: N creates through Django's test client with a real JWT.

Production settings as the benchmark's web process has them (DEBUG=0, DATABASE_CONN_MAX_AGE=60,
bench.settings, throttles raised out of the way); `time.process_time()` around N creates after a
warm-up, so the figure is the web process's CPU per create (the broadcaster's thread included),
not wall time. `--profile FILE` writes a cProfile dump of the measured creates.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/pressroom_create \
        .venv/bin/python bench/create_cpu.py --creates 300 [--redis-url redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--redis-url", default=None, help="Redis as broker and cache (default: PostgreSQL)")
    parser.add_argument("--profile", default=None, help="write a cProfile dump of the measured creates here")
    args = parser.parse_args()

    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver,127.0.0.1", SECURE_SSL_REDIRECT="0", DATABASE_CONN_MAX_AGE="60",
        PRESSROOM_TASK_CREATE_RATE="1000000/second", PRESSROOM_AUTH_RATE="1000/minute",
        PRESSROOM_QUEUE_NAME=f"create-cpu-{secrets.token_hex(4)}",
        PRESSROOM_BENCH_CACHE_PREFIX=f"create-cpu-{secrets.token_hex(4)}",
    )
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from publishing.roles import EDITORS

    user, _ = get_user_model().objects.get_or_create(username="create-cpu")
    user.groups.add(Group.objects.get(name=EDITORS))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")

    def create(number: int) -> None:
        response = client.post("/api/tasks", {"topic": f"Benchmark task {number}", "title": f"Benchmark {number}"},
                               format="json")
        if response.status_code != 201:
            raise SystemExit(f"create {number}: {response.status_code} {response.content[:300]!r}")

    for number in range(args.warmup):
        create(number)
    time.sleep(0.5)  # let the broadcaster drain the warm-up's events
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall time
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for number in range(args.creates):
        create(args.warmup + number)
    if profiler:
        profiler.disable()
    time.sleep(0.5)  # the broadcaster's sends of the last events count too
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall - 0.5
    broker = "redis" if args.redis_url else "orm"
    print(f"{broker}: {args.creates} creates, {cpu / args.creates * 1000:.2f} ms CPU/create "
          f"({wall / args.creates * 1000:.2f} ms wall/create)")
    if profiler:
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
