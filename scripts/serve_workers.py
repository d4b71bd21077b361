"""`make serve-workers`: a machine that runs tasks and serves no site: the task cluster and, when
`/metrics` is turned on, a metrics server.

    make serve-workers    (or: python scripts/serve_workers.py, with DATABASE_URL set)

The cluster (`manage.py qcluster`, PRESSROOM_WORKERS worker processes) takes tasks from the queue
every other machine shares. Its workers write their Prometheus values (stage durations, provider
calls) to PROMETHEUS_MULTIPROC_DIR, and on a machine with a web process `/metrics` there sums
them; here nothing would. So when a scrape is allowed (PRESSROOM_METRICS_TOKEN or
PRESSROOM_METRICS_NETWORKS, as for the web's `/metrics`), a one-worker Gunicorn serves
`config/metrics_wsgi.py` on HOST:PRESSROOM_METRICS_PORT (127.0.0.1:8002): `/metrics` and
`/healthz` through the site's own view and access rules, a 404 for every other path, in plain
HTTP (no redirect to https: keep the port private, or put a TLS proxy in front). Without either
variable there is nothing to scrape and only the cluster runs.

Like `make serve` it refuses development mode (DEBUG on, no SECRET_KEY or ALLOWED_HOSTS: the
settings need the latter with DEBUG off, and the metrics server checks the scraper's Host against
it). It neither migrates nor collects static files: that is done once per release, from any one
machine. SIGINT or SIGTERM stops both; if one exits on its own, the other is stopped and the exit
status is 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from config.env import PORT_MAX, env_host, env_int  # noqa: E402  (reads the environment only)
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from scripts.serve_production import START_TIMEOUT_SECONDS, STOP_GRACE_SECONDS, production_environment  # noqa: E402
from scripts.supervisor import GUNICORN_OPTIONS, PYTHON, StopSignals, metrics_environment, serve, start  # noqa: E402

COMMAND = "make serve-workers"


def metrics_enabled(env: dict[str, str]) -> bool:
    """As config/metrics.py decides: a token or a list of networks turns `/metrics` on."""
    return bool(env.get("PRESSROOM_METRICS_TOKEN", "").strip() or env.get("PRESSROOM_METRICS_NETWORKS", "").strip(", "))


def metrics_server_environment(env: dict[str, str]) -> dict[str, str]:
    """The metrics server speaks plain HTTP and has no proxy in front to redirect for it, so it
    never redirects to https (on its port nothing would answer that). Keep the port on a private
    network, or put a TLS proxy before it."""
    return {**env, "SECURE_SSL_REDIRECT": "0"}


def metrics_command(*, bind: str, port: int) -> list[str]:
    """One sync worker is plenty for a scraper every few seconds; its connection lasts one scrape."""
    return [PYTHON, "-m", "gunicorn", "config.metrics_wsgi:application", "--bind", f"{bind}:{port}",
            "--workers", "1", "--graceful-timeout", "10", *GUNICORN_OPTIONS]


def main() -> int:
    env = production_environment(command=COMMAND)
    try:
        host = env_host("HOST", "127.0.0.1")
        port = env_int("PRESSROOM_METRICS_PORT", 8002, minimum=1, maximum=PORT_MAX)
    except ImproperlyConfigured as error:
        sys.exit(f"serve: {error}")

    env = metrics_environment(env)  # emptied before the cluster and the metrics server start
    signals = StopSignals()
    processes = {"task cluster": start([PYTHON, "manage.py", "qcluster"], env=env)}
    ready_urls = []
    bind = f"[{host}]" if ":" in host else host
    if metrics_enabled(env):
        processes["metrics server (Gunicorn)"] = start(metrics_command(bind=bind, port=port),
                                                       env=metrics_server_environment(env))
        ready_urls.append(f"http://{bind}:{port}/healthz")
        metrics = f"  Metrics: http://{bind}:{port}/metrics (this machine's workers and the shared database)\n"
    else:
        metrics = "  Metrics: off (set PRESSROOM_METRICS_TOKEN or PRESSROOM_METRICS_NETWORKS to scrape this machine)\n"
    pids = ", ".join(f"{name} pid {process.pid}" for name, process in processes.items())
    banner = (
        f"\nPressroom is running tasks on this machine ({pids}).\n{metrics}"
        "Send SIGTERM or press Ctrl-C to stop.\n"
    )
    return serve(processes, signals, ready_urls=ready_urls, banner=banner,
                 start_timeout=START_TIMEOUT_SECONDS, grace_seconds=STOP_GRACE_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
