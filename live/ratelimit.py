"""Internal: rate limits as atomic counters in the shared cache.

A rate is ``"N/unit"`` (``second``, ``minute``, ``hour``, ``day``). Counting
uses a sliding window over two fixed windows, so a burst that straddles a
window boundary is still limited. ``incr`` is atomic in Redis and in the
local-memory cache, so every worker shares the same counters.
"""

from __future__ import annotations

import functools
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from live.exceptions import RateLimited
from live.state import cache

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")
PREFIX = "live:rl:"


@dataclass(frozen=True)
class Rate:
    """``limit`` hits per ``period`` seconds."""

    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse ``"5/second"``, ``"30/minute"``, ``"100/10m"`` and the like."""
        # Cached: the per-client event rate is read from the settings before every event.
        return _parsed(text) if isinstance(text, str) else _parse(text)


def _parse(text: object) -> Rate:
    match = _RATE.match(text) if isinstance(text, str) else None
    if match is None or match.group(3) not in _UNITS or int(match.group(1)) < 1:
        units = ", ".join(sorted({"second", "minute", "hour", "day"}))
        raise ValueError(f"Invalid rate {text!r}: use 'N/unit' with unit one of: {units}.")
    multiplier = int(match.group(2) or 1)
    return Rate(limit=int(match.group(1)), period=multiplier * _UNITS[match.group(3)])


_parsed = functools.lru_cache(maxsize=128)(_parse)


def client_key(user: Any, session_key: str | None, address: str | None) -> str:
    """Return who a client's hits count against: the user, else the session, else the address."""
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    if session_key:
        return f"s:{session_key}"
    return f"ip:{address or 'unknown'}"


def component_scope(name: str, client: str) -> str:
    """Return the counter of component ``name``'s ``throttle_rate`` for ``client``."""
    return f"component:{name}:{client}"


def hit_component(component_cls: Any, client: str, counted: set[str] | None = None) -> None:
    """Count one request of ``client`` against the component's ``throttle_rate``, if it has one.

    ``counted`` holds the names already counted for the same request, which count once.
    """
    rate = getattr(component_cls, "throttle_rate", None)
    if not rate:
        return
    if counted is not None:
        if component_cls.name in counted:
            return
        counted.add(component_cls.name)
    hit(component_scope(component_cls.name, client), rate)


def hit(scope: str, rate: Rate | str, now: float | None = None) -> None:
    """Count one hit for ``scope``; raise ``RateLimited`` with ``retry_after`` when over."""
    if isinstance(rate, str):
        rate = Rate.parse(rate)
    now = time.time() if now is None else now
    window = int(now // rate.period)
    current_key = f"{PREFIX}{scope}:{rate.period}:{window}"
    previous_key = f"{PREFIX}{scope}:{rate.period}:{window - 1}"
    store = cache()
    store.add(current_key, 0, rate.period * 2 + 1)
    try:
        current = store.incr(current_key)
    except ValueError:
        # Evicted between add and incr: count this hit alone.
        store.set(current_key, 1, rate.period * 2 + 1)
        current = 1
    previous = store.get(previous_key) or 0
    elapsed = (now % rate.period) / rate.period
    estimate = previous * (1 - elapsed) + current
    if estimate > rate.limit:
        # Wait until the estimate falls back under the limit.
        if current > rate.limit:
            retry = (window + 1) * rate.period - now
        else:
            needed = (estimate - rate.limit) / max(previous, 1)
            retry = needed * rate.period
        raise RateLimited(retry_after=max(1, math.ceil(retry)))
