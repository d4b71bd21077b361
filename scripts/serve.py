"""`make run`: prepare the database, then serve the web app and run a task cluster together.

Migrates, creates the demo accounts (development only), starts Daphne (HTTP and WebSocket) and a
django-q2 cluster as two child processes, waits until the web server answers, prints where
everything is, and on Ctrl-C (or SIGTERM) stops both and waits for them. If either child dies,
the other is stopped too and the exit status says so. HOST and PORT choose the address
(default 127.0.0.1:8000).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.env import PORT_MAX, env_host, env_int  # noqa: E402  (reads the environment only)
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from scripts.supervisor import PYTHON, StopSignals, manage, metrics_environment, serve, start, ws_command  # noqa: E402

STOP_GRACE_SECONDS = 20
START_TIMEOUT_SECONDS = 60


def main() -> int:
    try:
        host = env_host("HOST", "127.0.0.1")
        port = str(env_int("PORT", 8000, minimum=1, maximum=PORT_MAX))
    except ImproperlyConfigured as error:
        sys.exit(f"serve: {error}")
    manage("migrate", "--noinput")
    manage("create_demo_accounts")

    signals = StopSignals()
    env = metrics_environment(dict(os.environ))  # /metrics sums what the web server and the workers observe
    web = start(ws_command(host=host, port=port), env=env)
    cluster = start([PYTHON, "manage.py", "qcluster"], env=env)
    processes = {"web server": web, "task cluster": cluster}

    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    banner = (
        f"\nPressroom is running (web pid {web.pid}, task cluster pid {cluster.pid}).\n"
        f"  Admin (oversight hub): {base}/admin/\n"
        f"  Blog:                  {base}/\n"
        f"  API docs:              {base}/api/docs\n"
        "Demo logins: editor, reviewer, admin (passwords were printed when the accounts were created;\n"
        "  `make demo-passwords` issues new ones). Press Ctrl-C to stop.\n"
    )
    return serve(processes, signals, ready_urls=[f"{base}/healthz"], banner=banner,
                 start_timeout=START_TIMEOUT_SECONDS, grace_seconds=STOP_GRACE_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
