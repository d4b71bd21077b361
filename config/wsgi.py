"""WSGI entry point: Gunicorn serves HTTP pages and the API from this application in production.

`make serve` (scripts/serve_production.py) runs Gunicorn on it for HTTP and Daphne on
config/asgi.py for the WebSockets under /ws/; `make run` serves both from Daphne alone. A request
with NUL in a header is refused before Django builds it (`config.query_guard`).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from config.query_guard import RejectNulHeadersWsgi  # noqa: E402  (after Django is set up)

application = RejectNulHeadersWsgi(application)
