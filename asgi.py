"""ASGI entry point: Django over HTTP, the live socket over WebSocket."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from live.origins import OriginValidator  # noqa: E402
from live.routing import websocket_urlpatterns  # noqa: E402

http_app = (
    ASGIStaticFilesHandler(django_asgi_app)
    if os.environ.get("SERVE_STATIC", "1" if settings.DEBUG else "0") == "1"
    else django_asgi_app
)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Scheme, host and port of the Origin must be the site's own (or trusted).
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
