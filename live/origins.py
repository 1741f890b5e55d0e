"""The socket's Origin check: the site's own scheme, host and port, or a trusted origin.

Channels' ``AllowedHostsOriginValidator`` compares only the host with
``ALLOWED_HOSTS``, so ``http://site:9999`` passes for ``https://site``. Here an
``Origin`` is accepted only when it equals the handshake's own origin (the
``Host`` header, ``ws`` as ``http`` and ``wss`` as ``https``, default ports) or
is listed in ``CSRF_TRUSTED_ORIGINS``, and its host and the ``Host`` header are
both in ``ALLOWED_HOSTS``. Behind a TLS-terminating proxy the scheme comes from
``SECURE_PROXY_SSL_HEADER``, exactly as Django reads it for HTTP requests;
when the server does not say (daphne), ``SECURE_SSL_REDIRECT`` means HTTPS.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host
from django.utils.http import is_same_domain

logger = logging.getLogger("live")

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """A normalised ``scheme://host:port``."""

    scheme: str
    host: str
    port: int


def parse_origin(text: str) -> Origin | None:
    """Return ``text`` as an ``Origin``, or ``None`` unless it is exactly ``scheme://host[:port]``."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return Origin(scheme, _host(parts.hostname), port or _DEFAULT_PORTS[scheme])


def _host(hostname: str) -> str:
    # As ALLOWED_HOSTS writes it: IPv6 addresses in brackets, no trailing dot.
    hostname = hostname.lower().rstrip(".")
    return f"[{hostname}]" if ":" in hostname else hostname


def _headers(scope: dict[str, Any]) -> dict[bytes, list[str]]:
    found: dict[bytes, list[str]] = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(bytes(name).lower(), []).append(bytes(value).decode("latin-1"))
    return found


def request_scheme(scope: dict[str, Any], headers: dict[bytes, list[str]]) -> str:
    """Return ``http`` or ``https`` for the handshake, trusting the proxy header only if set."""
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        asgi_name = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        values = headers.get(asgi_name)
        if values:
            return "https" if values[0].split(",", 1)[0].strip() == secure_value else "http"
    if "scheme" in scope:
        return "https" if scope["scheme"] == "wss" else "http"
    # Daphne never sets the scheme, even over TLS: a site that redirects every page
    # to HTTPS has no page on plain HTTP, so its own origin is the HTTPS one.
    return "https" if getattr(settings, "SECURE_SSL_REDIRECT", False) else "http"


def request_origin(scope: dict[str, Any], headers: dict[bytes, list[str]]) -> Origin | None:
    """Return the handshake's own origin, from its scheme and ``Host`` header."""
    hosts = headers.get(b"host", [])
    if getattr(settings, "USE_X_FORWARDED_HOST", False) and headers.get(b"x-forwarded-host"):
        hosts = [headers[b"x-forwarded-host"][0].split(",", 1)[0].strip()]
    if len(hosts) != 1:
        return None
    return parse_origin(f"{request_scheme(scope, headers)}://{hosts[0]}")


def allowed_hosts() -> list[str]:
    """Return ``ALLOWED_HOSTS``, with Django's local defaults when it is empty under ``DEBUG``."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def is_trusted(origin: Origin) -> bool:
    """Return whether ``origin`` is listed in ``CSRF_TRUSTED_ORIGINS`` (``*.`` subdomains too)."""
    for entry in getattr(settings, "CSRF_TRUSTED_ORIGINS", ()):
        wildcard = "://*." in entry
        trusted = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if trusted is None or (trusted.scheme, trusted.port) != (origin.scheme, origin.port):
            continue
        if trusted.host == origin.host or (
            wildcard and is_same_domain(origin.host, "." + trusted.host)
        ):
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Return whether the handshake's ``Origin`` is the site's own or a trusted one."""
    headers = _headers(scope)
    given = headers.get(b"origin", [])
    if len(given) != 1:
        return False  # none (not a browser), or ambiguous
    origin = parse_origin(given[0])
    own = request_origin(scope, headers)
    if origin is None or own is None:
        return False
    hosts = allowed_hosts()
    if not (validate_host(origin.host, hosts) and validate_host(own.host, hosts)):
        return False
    return origin == own or is_trusted(origin)


class OriginValidator:
    """ASGI middleware refusing (HTTP 403) a WebSocket handshake from another origin.

    Wrap the socket's application in ``asgi.py``: ``OriginValidator(AuthMiddlewareStack(...))``.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Refuse a foreign origin before the application sees the handshake."""
        if scope.get("type") == "websocket" and not origin_allowed(scope):
            origins = _headers(scope).get(b"origin", [])
            logger.info("live: refused a socket from origin %.100r", origins)
            return await WebsocketDenier()(scope, receive, send)  # type: ignore[arg-type]
        return await self.application(scope, receive, send)
