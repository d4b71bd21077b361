"""ASGI entry point: Daphne serves HTTP and WebSocket from this one application.

WebSockets (tasks/routing.py) get a request id and their log lines (`config.request_id`), then
pass the Host and origin checks, then token-or-session authentication; the consumers answer refused
connections with close codes (tasks/consumers.py). HTTP requests with NUL in a header are refused
before Django builds them (`config.query_guard`). Whatever a client sends, the site is served at
the root of its host, and Daphne refuses a non-ASCII subprotocol with 400 (`config.daphne_guards`).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # sets Django up before anything imports models

from config import daphne_guards  # noqa: E402
from config.query_guard import RejectNulHeadersAsgi  # noqa: E402
from config.request_id import WebSocketRequestLog  # noqa: E402
from tasks.routing import websocket_urlpatterns  # noqa: E402
from tasks.ws_auth import HostCheck, OriginCheck, TokenOrSessionAuth  # noqa: E402

daphne_guards.install()

application = daphne_guards.ServedAtRoot(ProtocolTypeRouter(
    {
        "http": RejectNulHeadersAsgi(django_asgi_app),  # NUL in a header: 400 before Django parses it
        # Each connection's request id and log lines (in place of Daphne's access log), then the checks.
        "websocket": WebSocketRequestLog(HostCheck(OriginCheck(TokenOrSessionAuth(URLRouter(websocket_urlpatterns))))),
    }
))
