"""WebSocket routes; mount ``websocket_urlpatterns`` in your ``asgi.py``."""

from __future__ import annotations

from typing import Any

from django.urls import path

from live.consumer import LiveConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/live/", LiveConsumer.as_asgi()),  # type: ignore[arg-type]
]
