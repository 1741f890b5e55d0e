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
    # Seconds a first render's snapshot is kept until its component is joined or used:
    # pages fetched and never opened (crawlers, floods) do not fill the store.
    "UNJOINED_STATE_TTL": 600,
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
    # Per client (the user, else the visitor's cookie, and the address; see docs/settings.md),
    # shared by every worker: sockets open at once, components joined at once across them,
    # first renders (tokens minted) and events over every socket and HTTP POST. 0: no limit.
    "MAX_SOCKETS_PER_CLIENT": 30,
    "MAX_COMPONENTS_PER_CLIENT": 300,
    "CLIENT_RENDER_RATE": "240/minute",
    "CLIENT_EVENT_RATE": "30/second",
    # An anonymous visitor's address may use this many times each per-client limit.
    "ADDRESS_LIMIT_FACTOR": 4,
    # Seconds per epoch in which open sockets and joined components are counted: what a
    # worker killed without closing its sockets held is forgotten after two epochs.
    "CLIENT_COUNT_EPOCH": 30,
    # Minimum seconds between two pushed renders of one component (burst coalescing).
    "PUSH_INTERVAL": 0.05,
    # Run sync component code on one shared thread (True) or a thread pool (False).
    "THREAD_SENSITIVE": False,
    # Threads of that pool, per process (so also the most database connections it opens).
    "SYNC_THREADS": 8,
    # Jobs of one client (a user, else an address) in the pool at once; the rest wait in turn.
    "SYNC_PER_CLIENT": 1,
    # Jobs a client may have waiting for the pool; past it its events get rate_limited.
    "SYNC_QUEUE_PER_CLIENT": 32,
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
