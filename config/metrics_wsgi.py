"""The WSGI application of a worker machine's metrics server (`make serve-workers`): `/metrics`
and `/healthz`, nothing else.

A machine that runs only task clusters has no web process, so nothing there would read the
values its worker processes write to PROMETHEUS_MULTIPROC_DIR (stage durations, provider calls).
`scripts/serve_workers.py` runs Gunicorn with this application beside the cluster, on the same
folder. The two paths go through the site's own WSGI application (config/wsgi.py), so the scrape
is answered by the same view with the same access rules (`config/metrics.py`: token, networks)
and logged like any request; every other path is a 404 that never reaches Django, so a worker
machine serves no page, admin or API even if its port is reachable.
"""

from __future__ import annotations

import json

from config.wsgi import HeadWithoutBodyWsgi, application as site_application  # first: sets Django up

from config.api import error_body  # noqa: E402

SERVED_PATHS = frozenset({"/metrics", "/healthz"})
NOT_FOUND = json.dumps(error_body(
    "not_found", "This is a worker machine's metrics server: it answers /metrics and /healthz only.",
)).encode()


def _application(environ, start_response):
    if environ.get("PATH_INFO", "") in SERVED_PATHS:
        return site_application(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(NOT_FOUND))),
                                     ("X-Content-Type-Options", "nosniff")])
    return [NOT_FOUND]


application = HeadWithoutBodyWsgi(_application)  # a HEAD's 404 without its body, as the site's
