"""Error types of ``live``; each carries a wire code, an HTTP status and a safe message.

LiveError
 ├── NotFound                   what the component shows does not exist (404)
 │    └── ComponentNotFound     unknown registered name
 ├── ProtocolError              malformed frame or request body (400)
 │    ├── FrameTooLarge         over ``LIVE["MAX_FRAME_BYTES"]`` (413)
 │    ├── UnsupportedMediaType  a request body that is not JSON or a form (415)
 │    ├── NotJoined             a frame for a component this socket has not joined
 │    └── TooManyComponents     over ``LIVE["MAX_COMPONENTS"]`` on one socket
 ├── EventError
 │    ├── UnknownEvent          no public ``on_<event>`` handler (400)
 │    └── InvalidArguments      arguments failed validation, per field (400)
 ├── TokenError                 (403)
 │    ├── InvalidToken          bad signature, wrong user or session, wrong shape
 │    ├── ExpiredToken          older than ``LIVE["TOKEN_MAX_AGE"]``
 │    └── OutdatedToken         signed by an older token format
 ├── PermissionDenied
 │    ├── NotAuthenticated      (401)
 │    └── Forbidden             (403)
 ├── RateLimited                carries ``retry_after`` seconds (429)
 ├── Unavailable                the state store or channel layer is down (503)
 └── StateLost                  no snapshot and no signed state to resume from (409)

Messages are shown to clients, so they never contain tracebacks or internals.
"""

from __future__ import annotations

from typing import Any

from live import protocol


class LiveError(Exception):
    """Base class: a client-facing failure with a wire ``code`` and an HTTP ``status``."""

    code: str = protocol.SERVER_ERROR
    status: int = 500
    default_message = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    def as_frame(self) -> dict[str, Any]:
        """Return the wire fields describing this error."""
        return {protocol.KEY_CODE: self.code, protocol.KEY_MESSAGE: self.message}


class NotFound(LiveError):
    """Raised when what a component shows (a job, a product) does not exist."""

    code = protocol.NOT_FOUND
    status = 404
    default_message = "Not found"


class ComponentNotFound(NotFound):
    """Raised when a name is not a registered component."""

    code = protocol.UNKNOWN_COMPONENT


class ProtocolError(LiveError):
    """Raised for a malformed frame or request body."""

    code = protocol.BAD_FRAME
    status = 400


class FrameTooLarge(ProtocolError):
    """Raised when a frame or body is over the configured size limit."""

    code = protocol.TOO_LARGE
    status = 413


class UnsupportedMediaType(ProtocolError):
    """Raised for an HTTP body that is neither JSON nor a form."""

    status = 415


class NotJoined(ProtocolError):
    """Raised for a frame naming a component this connection has not joined."""

    code = protocol.NOT_JOINED


class TooManyComponents(ProtocolError):
    """Raised when one connection joins more components than allowed."""

    code = protocol.TOO_MANY


class EventError(LiveError):
    """Base class for events that cannot be handled."""

    code = protocol.UNKNOWN_EVENT
    status = 400


class UnknownEvent(EventError):
    """Raised when a component has no public handler for an event."""


class InvalidArguments(EventError):
    """Raised when event arguments fail validation; ``fields`` maps name to message."""

    code = protocol.INVALID_ARGS

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields

    def as_frame(self) -> dict[str, Any]:
        """Return the wire fields, with the per-field messages."""
        return {**super().as_frame(), protocol.KEY_FIELDS: self.fields}


class TokenError(LiveError):
    """Base class for tokens that cannot be trusted."""

    code = protocol.TOKEN_INVALID
    status = 403
    default_message = "Invalid component token"


class InvalidToken(TokenError):
    """Raised for a token with a bad signature, shape or binding."""


class ExpiredToken(TokenError):
    """Raised for a token older than its maximum age."""

    code = protocol.TOKEN_EXPIRED
    default_message = "Component token expired; reload the component"


class OutdatedToken(TokenError):
    """Raised for a token signed in a format this server no longer reads."""

    code = protocol.TOKEN_OUTDATED
    default_message = "Component token outdated; reload the component"


class PermissionDenied(LiveError):
    """Base class for permission failures."""

    code = protocol.FORBIDDEN
    status = 403
    default_message = "Permission denied"


class NotAuthenticated(PermissionDenied):
    """Raised when a component requires a logged-in user."""

    code = protocol.UNAUTHENTICATED
    status = 401
    default_message = "Authentication required"


class Forbidden(PermissionDenied):
    """Raised when the user is known but not allowed."""


class RateLimited(LiveError):
    """Raised when a client is over a rate limit; ``retry_after`` is in seconds."""

    code = protocol.RATE_LIMITED
    status = 429
    default_message = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def as_frame(self) -> dict[str, Any]:
        """Return the wire fields, with ``retry_after``."""
        return {**super().as_frame(), protocol.KEY_RETRY_AFTER: self.retry_after}


class Unavailable(LiveError):
    """Raised when the state store or the channel layer does not answer; nothing was changed."""

    code = protocol.UNAVAILABLE
    status = 503
    default_message = "The server is briefly unavailable; try again in a moment"

    def __init__(self, retry_after: int = 1, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def as_frame(self) -> dict[str, Any]:
        """Return the wire fields, with ``retry_after``."""
        return {**super().as_frame(), protocol.KEY_RETRY_AFTER: self.retry_after}


class StateLost(LiveError):
    """Raised when neither the state store nor the client holds the component's state."""

    code = protocol.STATE_LOST
    status = 409
    default_message = "Component state was lost; reload the component"
