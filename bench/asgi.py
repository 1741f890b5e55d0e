"""ASGI entry point of the bench server: three WebSocket targets behind one stack.

``/ws/echo/`` and ``/ws/echo-group/`` are bare Channels consumers,
``/ws/naive/<name>/`` re-renders a whole template per event and ``/ws/live/``
is ``live``'s consumer; all pass the same origin check and session/auth
middleware as the project's ``asgi.py``.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.consumers import EchoConsumer, EchoGroupConsumer, NaiveConsumer  # noqa: E402
from live.origins import OriginValidator  # noqa: E402
from live.routing import websocket_urlpatterns as live_urlpatterns  # noqa: E402

websocket_urlpatterns = [
    path("ws/echo/", EchoConsumer.as_asgi()),
    path("ws/echo-group/", EchoGroupConsumer.as_asgi()),
    path("ws/naive/<str:name>/", NaiveConsumer.as_asgi()),
    *live_urlpatterns,
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
