"""WebSocket routes of `tasks` (config/asgi.py mounts them behind the origin and auth checks).

The task id is matched as any path segment so that a malformed id reaches the consumer and gets
close code 4404 like an unknown one, instead of failing the handshake.
"""

from django.urls import path

from tasks.consumers import AllTasksConsumer, TaskConsumer

websocket_urlpatterns = [
    path("ws/tasks", AllTasksConsumer.as_asgi()),
    path("ws/tasks/<str:task_id>", TaskConsumer.as_asgi()),
]
