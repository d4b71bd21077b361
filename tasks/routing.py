"""WebSocket routes of `tasks` (config/asgi.py mounts them behind the origin and auth checks).

The task id is matched as any path segment so that a malformed id reaches the consumer and gets
close code 4404 like an unknown one, instead of failing the handshake. Any other path ends in the
catch-all route, which closes with 4404 too (an unmatched path would be an error in URLRouter).
"""

from django.urls import path, re_path

from tasks.consumers import AllTasksConsumer, TaskConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    path("ws/tasks", AllTasksConsumer.as_asgi()),
    path("ws/tasks/<str:task_id>", TaskConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
