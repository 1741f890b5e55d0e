"""Internal: reading a client frame (a socket message or an HTTP body) within the limits.

Both transports parse with ``parse``: a JSON object no larger than
``LIVE["MAX_FRAME_BYTES"]``, no deeper than ``LIVE["MAX_FRAME_DEPTH"]``, and
whose envelope (all but the payload) holds only text that can be sent back.
The payload is checked by the pipeline, which names the argument at fault.
"""

from __future__ import annotations

import json
import time
from typing import Any

from live import conf, protocol
from live.arguments import is_encodable
from live.exceptions import FrameTooLarge, ProtocolError, RateLimited


def depth(value: Any, limit: int) -> int:
    """Return the nesting depth of a parsed JSON value, stopping past ``limit``."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def unencodable(value: Any) -> bool:
    """Return whether a key or string anywhere in ``value`` holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_encodable(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def size(data: str | bytes) -> int:
    """Return the size of a frame in bytes (text counts its UTF-8 encoding)."""
    if isinstance(data, bytes):
        return len(data)
    # Each character takes 1 to 4 bytes: encode only when the limit could be crossed.
    if len(data) * 4 <= conf.get("MAX_FRAME_BYTES"):
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


def parse(data: str | bytes, noun: str = "Frame", *, envelope: bool = True) -> dict[str, Any]:
    """Return ``data`` parsed as a JSON object, or raise ``FrameTooLarge``/``ProtocolError``.

    ``noun`` names the thing in messages ("Frame", "Body"); ``envelope=False`` parses
    a payload alone, left to the pipeline's checks.
    """
    limit = conf.get("MAX_FRAME_BYTES")
    measured = size(data)
    if measured > limit:
        raise FrameTooLarge(f"{noun} of {measured} bytes is over the limit of {limit}")
    try:
        value = json.loads(data.decode() if isinstance(data, bytes) else data)
    except RecursionError as exc:
        raise ProtocolError(f"{noun} is nested too deeply") from exc
    except ValueError as exc:  # UnicodeDecodeError too: binary frames that are not UTF-8
        raise ProtocolError(f"{noun} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"{noun} must be a JSON object")
    max_depth = conf.get("MAX_FRAME_DEPTH")
    if depth(value, max_depth) > max_depth:
        raise ProtocolError(f"{noun} is nested too deeply")
    # A lone surrogate (JSON "\ud800") in an id or an event name would be echoed in the
    # answer, which then cannot be encoded: daphne closes the socket (1011).
    if envelope and unencodable({k: v for k, v in value.items() if k != protocol.KEY_PAYLOAD}):
        raise ProtocolError(f"{noun} holds text that is not valid Unicode (a lone surrogate)")
    return value


class FrameBucket:
    """A token bucket bounding the frames one socket may send (bursts of twice the rate)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate * 2
        self.stamp = time.monotonic()

    def take(self) -> None:
        """Spend one token or raise ``RateLimited``."""
        now = time.monotonic()
        self.tokens = min(self.rate * 2, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            raise RateLimited(retry_after=1, message="Too many frames on this connection")
        self.tokens -= 1
