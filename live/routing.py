"""WebSocket routes; mount ``websocket_urlpatterns`` in your ``asgi.py``."""

from __future__ import annotations

from django.urls import path

from live.consumer import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
]
