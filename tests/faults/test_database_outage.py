"""PostgreSQL restarted while tasks run and while the blog is under load.

The package's own PostgreSQL server (tests/faults/conftest.py) is restarted the fast way (every
client disconnected, in-flight transactions rolled back) while a cluster runs tasks and a thread
requests the blog from Daphne in a bounded loop. Daphne keeps its database connections between
requests (`DATABASE_CONN_MAX_AGE=60`, as production's web processes do), the harder case: every
kept connection is dead after the restart. The blog may fail only while the server is away, and
answers again by itself; every task completes with nothing lost.
"""

from __future__ import annotations

import threading
import time
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

import pytest
from django.db import connection

from tasks.models import GenerationTask
from tests.factories import submit_task
from tests.faults.checks import STAGES, all_final, assert_nothing_lost, logs
from tests.processes import Cluster, WebServer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LOAD_SECONDS = 12


class BlogLoad(threading.Thread):
    """Requests the blog's front page one after another for at most LOAD_SECONDS (or until
    stopped), recording (start and end in monotonic time, HTTP status or 0 for no answer)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.results: list[tuple[float, float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline and not self.stopping.is_set():
            started = time.monotonic()
            try:
                with urlopen(f"{self.url}/", timeout=5) as response:
                    response.read()
                    status = response.status
            except HTTPError as error:
                status = error.code
            except (URLError, OSError):
                status = 0
            self.results.append((started, time.monotonic(), status))
            time.sleep(0.02)


def test_a_database_restart_under_blog_load_fails_requests_only_during_the_outage_and_loses_no_task(
    seeded, without_redis, processes, fault_database
):
    tasks = [submit_task(topic=f"Outage task {n}", metadata={"sleep": {"draft": 3}}) for n in range(6)]
    web = processes(WebServer, name="daphne", env={"DATABASE_CONN_MAX_AGE": "60"})
    web.wait_until_ready()
    cluster = processes(Cluster, name="cluster", workers=2)
    load = BlogLoad(web.url)
    load.start()
    try:
        wait_for(lambda: (connection.close() or GenerationTask.objects.filter(phase="draft").exists()),
                 timeout=60, message=f"a task in the draft stage\n{logs(cluster)}")
        time.sleep(1)  # some load before the outage
        down, up = fault_database.restart()
        load.join(timeout=LOAD_SECONDS + 10)
    finally:
        load.stopping.set()
        load.join(timeout=10)
    wait_for(all_final(tasks), timeout=120, interval=1, message=f"recovery after the restart\n{logs(cluster)}")

    assert_nothing_lost(tasks, status="completed", stages=STAGES)
    assert cluster.running(), "the cluster survived the outage"
    results = load.results
    before = [s for _, end, s in results if end < down]
    recovered_at = next((start for start, _, s in results if start >= up and s == 200), None)
    assert before and set(before) == {200}, f"the blog answered before the outage: {before}\n{logs(web)}"
    assert recovered_at is not None, f"the blog never answered again: {results[-10:]}\n{logs(web)}"
    after = [s for start, _, s in results if start >= recovered_at]
    assert set(after) == {200}, f"the blog failed again after it recovered: {after}\n{logs(web)}"
    failed = [(round(start - down, 2), s) for start, end, s in results if s != 200]
    assert all(end >= down and start < recovered_at for start, end, s in results if s != 200), failed
    print(f"\nPostgreSQL restart: down for {up - down:.2f}s; {len(results)} blog requests, "
          f"{sum(1 for _, s in failed if s >= 500)} 5xx and {sum(1 for _, s in failed if s == 0)} unanswered, "
          f"started {[t for t, _ in failed]}s after the restart began; first 200 again {recovered_at - down:.2f}s "
          f"after it began; tasks {[t.status for t in GenerationTask.objects.filter(pk__in=[t.pk for t in tasks])]}, "
          f"attempts {[t.attempts for t in GenerationTask.objects.filter(pk__in=[t.pk for t in tasks])]}")
