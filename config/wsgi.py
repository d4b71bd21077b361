"""WSGI entry point: Gunicorn serves HTTP pages and the API from this application in production.

`make serve` (scripts/serve_production.py) runs Gunicorn on it for HTTP and Daphne on
config/asgi.py for the WebSockets under /ws/; `make run` serves both from Daphne alone. A request
with NUL in a header is refused before Django builds it (`config.query_guard`), and a HEAD
request's answer leaves here without its body (`HeadWithoutBodyWsgi`).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from config.query_guard import RejectNulHeadersWsgi  # noqa: E402  (after Django is set up)


class HeadWithoutBodyWsgi:
    """Answers HEAD with the status and headers GET would get (its Content-Length too) and no body.

    Django leaves dropping a HEAD response's body to the server. Gunicorn does drop it, but logs a
    WARNING for each such response ("WSGI app sent body bytes on a no-body response"), so every
    HEAD request (monitors, crawlers, or a client sending thousands) wrote a warning into the log.
    The response is still closed here, as the server would close it: that ends the request for
    Django (the request id unbound, the database connection released) and closes an opened file.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        result = self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()
        return []


application = HeadWithoutBodyWsgi(RejectNulHeadersWsgi(application))
