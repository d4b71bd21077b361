"""`make serve`: Pressroom's production shape, Gunicorn for HTTP, Daphne for /ws/, and the cluster.

    make serve            (or: python scripts/serve_production.py, with DATABASE_URL set)

Daphne serves HTTP and WebSocket in one process (`make run`), but a Django view behind it answers
about 8x fewer requests per second than behind Gunicorn on the same machine. So in production
three processes run side by side:

- web: Gunicorn (WSGI, config/wsgi.py) on HOST:PORT (127.0.0.1:8000), PRESSROOM_WEB_WORKERS sync
  workers (default 2 x cores + 1: a worker waiting on PostgreSQL leaves its core to another), each
  keeping its database connection for 60 s unless DATABASE_CONN_MAX_AGE says otherwise (opening a
  connection per request cut a one-query view to a fraction of its rate here; a sync worker has one thread,
  so one connection);
- ws: Daphne (ASGI, config/asgi.py) on HOST:PRESSROOM_WS_PORT (8001), for the WebSockets under
  /ws/ only: a reverse proxy sends /ws/ there and everything else to the web port (without a
  proxy, set PRESSROOM_WEBSOCKET_URL=ws://host:8001 so the admin's pages open their sockets there;
  Daphne trusts the origins http://<ALLOWED_HOSTS name>:PORT of those pages, see daphne_environment);
- cluster: the django-q2 task cluster (`manage.py qcluster`).

It refuses to start in development mode: DEBUG must be off (an unset DEBUG is taken as 0 here,
and said so) and SECRET_KEY and ALLOWED_HOSTS must be set, so a production server never runs with
the debug pages or a key from ./var/. Before serving it migrates and collects the static files
into STATIC_ROOT (WhiteNoise serves them from there, compressed and with hashed names).

SIGINT or SIGTERM is passed on to all three, which are then awaited; if one of them exits on its
own, the others are stopped and the exit status is 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from config.env import PORT_MAX, PROCESSES_MAX, env_bool, env_host, env_int, env_networks  # noqa: E402  (reads the environment only)
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from scripts.supervisor import (  # noqa: E402
    GUNICORN_OPTIONS, PYTHON, StopSignals, manage, metrics_environment, serve, start, ws_command,
)

STOP_GRACE_SECONDS = 30
START_TIMEOUT_SECONDS = 90


def production_environment(*, command: str = "make serve") -> dict[str, str]:
    """The environment the processes get; exits with an explanation when it is not fit."""
    env = dict(os.environ)
    problems = []
    if "DEBUG" not in env:
        env["DEBUG"] = "0"
        print("serve: DEBUG is not set; serving with DEBUG=0 (production mode).", flush=True)
    else:
        try:
            debug = env_bool("DEBUG", False)
        except ImproperlyConfigured as error:
            debug, problems = False, [str(error)]
        if debug:
            problems.append(f"DEBUG is on; `{command}` is for production (set DEBUG=0, or use `make run`).")
    if not env.get("SECRET_KEY", "").strip():
        problems.append("SECRET_KEY is not set (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))').")
    if not env.get("ALLOWED_HOSTS", "").strip(","):
        problems.append("ALLOWED_HOSTS is not set (the comma-separated host names this site answers to).")
    if problems:
        sys.exit("serve: refusing to start:\n  " + "\n  ".join(problems))
    return env


def web_workers() -> int:
    """PRESSROOM_WEB_WORKERS, or 2 x cores + 1 (Gunicorn's own advice for sync workers)."""
    return env_int("PRESSROOM_WEB_WORKERS", 2 * (os.cpu_count() or 1) + 1, minimum=1, maximum=PROCESSES_MAX)


def web_environment(env: dict[str, str]) -> dict[str, str]:
    """Gunicorn's environment: each sync worker keeps its one database connection for 60 s unless
    DATABASE_CONN_MAX_AGE says otherwise (Daphne's threads would hoard them, so only Gunicorn's)."""
    return {"DATABASE_CONN_MAX_AGE": "60", **env}


def web_command(*, bind: str, port: int, workers: int, proxies: list[str]) -> list[str]:
    """The Gunicorn command line of the web process; bench/ starts the same one to measure the API."""
    return [
        PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{bind}:{port}",
        # No Gunicorn access log: each request's line, with its request id and in the log format of
        # the rest (JSON in production), is config/request_id.py's.
        "--workers", str(workers), "--graceful-timeout", "20",
        # X-Forwarded-Proto only from the configured proxies (none by default); the client's
        # address is config/client_address.py's, so Daphne gets no --proxy-headers either.
        f"--forwarded-allow-ips={','.join(proxies)}",
        *GUNICORN_OPTIONS,
    ]


def daphne_environment(env: dict[str, str], web_port: int) -> dict[str, str]:
    """Daphne's environment: the origins of the pages Gunicorn serves (http://<each ALLOWED_HOSTS
    name>:PORT) join CSRF_TRUSTED_ORIGINS there, so that without a proxy those pages may open their
    sockets on Daphne's own port (its origin check compares scheme, host and port)."""
    names = [name.strip() for name in env.get("ALLOWED_HOSTS", "").split(",")]
    pages = [f"http://{name}:{web_port}" for name in names if name and not name.startswith(".") and name != "*"]
    trusted = [origin for origin in env.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()]
    return {**env, "CSRF_TRUSTED_ORIGINS": ",".join(trusted + pages)}


def main() -> int:
    env = production_environment()
    try:
        host = env_host("HOST", "127.0.0.1")
        web_port = env_int("PORT", 8000, minimum=1, maximum=PORT_MAX)
        ws_port = env_int("PRESSROOM_WS_PORT", 8001, minimum=1, maximum=PORT_MAX)
        workers = web_workers()
        proxies = env_networks("PRESSROOM_TRUSTED_PROXIES")
    except ImproperlyConfigured as error:
        sys.exit(f"serve: {error}")
    if web_port == ws_port:
        sys.exit("serve: PORT and PRESSROOM_WS_PORT must differ.")

    env = metrics_environment(env)  # /metrics sums what Gunicorn's workers, Daphne and the cluster observe
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    signals = StopSignals()

    bind = f"[{host}]" if ":" in host else host
    processes = {
        "web server (Gunicorn)": start(
            web_command(bind=bind, port=web_port, workers=workers, proxies=proxies), env=web_environment(env),
        ),
        "WebSocket server (Daphne)": start(
            ws_command(host=host, port=ws_port), env=daphne_environment(env, web_port),
        ),
        "task cluster": start([PYTHON, "manage.py", "qcluster"], env=env),
    }
    web, ws = f"http://{bind}:{web_port}", f"http://{bind}:{ws_port}"
    pids = ", ".join(f"{name} pid {process.pid}" for name, process in processes.items())
    banner = (
        f"\nPressroom is serving in production mode ({pids}).\n"
        f"  HTTP (pages, admin, API): {web}/   ({workers} Gunicorn workers)\n"
        f"  WebSockets (/ws/):        {ws.replace('http', 'ws', 1)}/ws/\n"
        "A reverse proxy in front sends /ws/ to the second address and everything else to the first.\n"
        "Send SIGTERM or press Ctrl-C to stop.\n"
    )
    return serve(processes, signals, ready_urls=[f"{web}/healthz", f"{ws}/healthz"], banner=banner,
                 start_timeout=START_TIMEOUT_SECONDS, grace_seconds=STOP_GRACE_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
