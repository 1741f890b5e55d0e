"""Internal: the wire protocol, defined once and mirrored in ``live.js``.

Every frame is a JSON object with a ``type`` key. See ``docs/protocol.md``.
"""

from __future__ import annotations

from typing import Final

#: Bumped when the frame format changes incompatibly.
PROTOCOL_VERSION: Final = 1

# Frame keys.
KEY_TYPE: Final = "type"
KEY_ID: Final = "id"
KEY_TOKEN: Final = "token"
KEY_VERSION: Final = "v"
KEY_REF: Final = "ref"
KEY_EVENT: Final = "event"
KEY_PAYLOAD: Final = "payload"
KEY_HTML: Final = "html"
KEY_OPS: Final = "ops"
KEY_LENGTH: Final = "len"
KEY_CODE: Final = "code"
KEY_MESSAGE: Final = "message"
KEY_FIELDS: Final = "fields"
KEY_RETRY_AFTER: Final = "retry_after"
KEY_OPTIMISTIC: Final = "optimistic"
KEY_STATE: Final = "state"

#: Largest ``ref`` in size: every integer up to it is exact in a JavaScript number (2**53).
MAX_REF: Final = 9007199254740992

# Client -> server frame types.
JOIN: Final = "join"
EVENT: Final = "event"
LEAVE: Final = "leave"
RESYNC: Final = "resync"
PING: Final = "ping"
CLIENT_TYPES: Final = (EVENT, JOIN, LEAVE, PING, RESYNC)

# Server -> client frame types.
FULL: Final = "full"  # whole HTML of one component: join, resync, remount
DIFF: Final = "diff"  # edits against the previous HTML of one component
ACK: Final = "ack"  # event or join handled, HTML unchanged
ERROR: Final = "error"
PONG: Final = "pong"
SERVER_TYPES: Final = (ACK, DIFF, ERROR, FULL, PONG)

# Error codes carried by ``error`` frames and JSON error bodies.
BAD_FRAME: Final = "bad_frame"
UNKNOWN_COMPONENT: Final = "unknown_component"
NOT_JOINED: Final = "not_joined"
UNKNOWN_EVENT: Final = "unknown_event"
INVALID_ARGS: Final = "invalid_args"
TOKEN_INVALID: Final = "token_invalid"
TOKEN_EXPIRED: Final = "token_expired"
TOKEN_OUTDATED: Final = "token_outdated"
UNAUTHENTICATED: Final = "unauthenticated"
FORBIDDEN: Final = "forbidden"
RATE_LIMITED: Final = "rate_limited"
TOO_LARGE: Final = "too_large"
TOO_MANY: Final = "too_many_components"
STATE_LOST: Final = "state_lost"
NOT_FOUND: Final = "not_found"  # what the component shows (a job, a product) does not exist
SERVER_ERROR: Final = "server_error"
UNAVAILABLE: Final = "unavailable"  # the state store or channel layer is down; retry later
ERROR_CODES: Final = (
    BAD_FRAME,
    FORBIDDEN,
    INVALID_ARGS,
    NOT_FOUND,
    NOT_JOINED,
    RATE_LIMITED,
    SERVER_ERROR,
    STATE_LOST,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
    TOKEN_OUTDATED,
    TOO_LARGE,
    TOO_MANY,
    UNAUTHENTICATED,
    UNAVAILABLE,
    UNKNOWN_COMPONENT,
    UNKNOWN_EVENT,
)

# WebSocket close codes (4xxx: the client can act on them).
CLOSE_SLOW_CONSUMER: Final = 4008
CLOSE_TOO_MANY_SOCKETS: Final = 4429  # over LIVE["MAX_SOCKETS_PER_CLIENT"]; the reason says so

# DOM attributes written by the server and read by live.js.
ATTR_ID: Final = "data-live-id"
ATTR_NAME: Final = "data-live-name"
ATTR_TOKEN: Final = "data-live-token"
ATTR_VERSION: Final = "data-live-v"
ATTR_URL: Final = "data-live-url"
ATTR_STATE: Final = "data-live-state"
ATTR_POLL: Final = "data-live-poll"  # seconds between polls on the HTTP fallback
ATTR_EVENT: Final = "live-event"
ATTR_OPTIMISTIC: Final = "data-live-optimistic"
