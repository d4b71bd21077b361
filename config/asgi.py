"""ASGI entry point: Daphne serves HTTP and WebSocket from this one application.

WebSockets (tasks/routing.py) pass the origin check first, then token-or-session authentication;
the consumers answer refused connections with close codes (tasks/consumers.py).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # sets Django up before anything imports models

from tasks.routing import websocket_urlpatterns  # noqa: E402
from tasks.ws_auth import OriginCheck, TokenOrSessionAuth  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginCheck(TokenOrSessionAuth(URLRouter(websocket_urlpatterns))),
    }
)
