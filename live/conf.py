"""Internal: the ``LIVE`` settings dict and its documented defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings

#: Every key of ``settings.LIVE`` with its default; see ``docs/settings.md``.
DEFAULTS: dict[str, Any] = {
    # Seconds a signed component token stays valid.
    "TOKEN_MAX_AGE": 24 * 3600,
    # Cache alias holding state snapshots and the broadcast log.
    "CACHE": "default",
    # Seconds a component's state snapshot is kept after its last change.
    "STATE_TTL": 24 * 3600,
    # Seconds, and entries per group, that the broadcast log keeps for catch-up.
    "BROADCAST_LOG_TTL": 3600,
    "BROADCAST_LOG_LENGTH": 500,
    # Largest accepted client frame or HTTP body, in bytes.
    "MAX_FRAME_BYTES": 64 * 1024,
    # Deepest accepted JSON nesting in a client frame.
    "MAX_FRAME_DEPTH": 32,
    # Bytes written to a socket but not yet read by its client before it is closed (4008).
    "MAX_SEND_BUFFER": 1024 * 1024,
    # Frames per second one socket may send (bursts of twice that); over it: rate_limited.
    "SOCKET_FRAMES_PER_SECOND": 50,
    # Components one socket may join at once.
    "MAX_COMPONENTS": 100,
    # Minimum seconds between two pushed renders of one component (burst coalescing).
    "PUSH_INTERVAL": 0.05,
    # Run sync component code on one shared thread (True) or a thread pool (False).
    "THREAD_SENSITIVE": False,
    # Seconds after which a socket reloads its user before it next sends HTML (any path).
    "USER_RECHECK_INTERVAL": 1.0,
    # Seconds between two checks for broadcasts by a page on the HTTP fallback, for
    # components that follow groups (0: never; such pages then update on their next event).
    "HTTP_POLL_INTERVAL": 5,
    # URL of the WebSocket endpoint used by live.js.
    "WS_PATH": "/ws/live/",
}


def get(key: str) -> Any:
    """Return ``settings.LIVE[key]``, or its default."""
    overrides: dict[str, Any] = getattr(settings, "LIVE", {})
    if key in overrides:
        return overrides[key]
    return DEFAULTS[key]
