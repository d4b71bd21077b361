"""Template context every page may need: where the live-progress scripts open their WebSockets.

The admin's live panels put it in a `data-socket-origin` attribute (no inline script); empty means
the page's own origin.
"""

from django.conf import settings


def live_updates(request) -> dict:
    return {"pressroom_websocket_url": settings.PRESSROOM_WEBSOCKET_URL}
