"""Internal: riding out a lost Redis (state store or channel layer) without a process restart.

The first failed call of an outage is logged once and starts a monitor on the
sockets' event loop. Sockets stay open meanwhile: events are refused with
``unavailable`` and change nothing. When the store and the channel layer answer
again, every socket of this process re-joins its groups, saves its components'
state again (a restarted Redis has lost it), re-reads what broadcasts may have
missed, and pushes the result; the log says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Protocol

logger = logging.getLogger("live")


def _backend_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]  # ConnectionError and TimeoutError too
    try:
        from redis.exceptions import RedisError

        errors.append(RedisError)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    try:
        from django_redis.exceptions import ConnectionInterrupted

        errors.append(ConnectionInterrupted)
    except ImportError:  # pragma: no cover - django-redis is a dependency
        pass
    return tuple(errors)


#: What the state store or the channel layer raise when their server is gone.
ERRORS: tuple[type[BaseException], ...] = _backend_errors()


class Recovering(Protocol):
    """A socket that can restore what it keeps in Redis."""

    async def probe(self) -> None:
        """Raise one of ``ERRORS`` unless the state store and the channel layer answer."""

    async def recover(self) -> None:
        """Re-join groups, save state again and push what changed."""


_sockets: weakref.WeakSet[Any] = weakref.WeakSet()
_down_since: float | None = None
_monitor: asyncio.Task[None] | None = None
_loop: asyncio.AbstractEventLoop | None = None


def watch(socket: Recovering) -> None:
    """Recover ``socket`` after every outage, while it is open."""
    global _loop, _down_since, _monitor
    loop = asyncio.get_running_loop()
    if loop is not _loop:
        # A new event loop (a new server, or a test): nothing carries over.
        _loop, _down_since, _monitor = loop, None, None
    _sockets.add(socket)


def forget(socket: Recovering) -> None:
    """Stop recovering ``socket`` (it closed)."""
    _sockets.discard(socket)


def is_down() -> bool:
    """Return whether an outage is in progress."""
    return _down_since is not None


async def wait_until_up(poll: float = 0.1) -> None:
    """Return once no outage is in progress."""
    while is_down():
        await asyncio.sleep(poll)


def report(what: str, exc: BaseException) -> None:
    """Note a failed call to ``what``; the first one of an outage is logged and starts the monitor.

    Safe to call from any thread.
    """
    loop = _loop
    if loop is None or loop.is_closed():
        logger.warning("live: %s unreachable (%s: %s)", what, type(exc).__name__, exc)
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _start(what, exc)
    else:
        loop.call_soon_threadsafe(_start, what, exc)


def _start(what: str, exc: BaseException) -> None:
    global _down_since, _monitor
    if _down_since is None:
        _down_since = time.monotonic()
        logger.warning(
            "live: %s unreachable (%s: %s); sockets stay open, events are refused "
            "with 'unavailable' until it answers again",
            what,
            type(exc).__name__,
            exc,
        )
    if _monitor is None or _monitor.done():
        _monitor = asyncio.get_running_loop().create_task(_watch_until_up())


async def _watch_until_up(first_delay: float = 0.2) -> None:
    global _down_since, _monitor
    delay = first_delay
    while True:
        await asyncio.sleep(delay)
        sockets = list(_sockets)
        try:
            if sockets:
                await sockets[0].probe()
        except ERRORS:
            delay = min(delay * 2, 5.0)
            continue
        started = _down_since or time.monotonic()
        logger.warning(
            "live: Redis answers again after %.1f s; restoring groups and state of %d socket(s)",
            time.monotonic() - started,
            len(sockets),
        )
        _down_since, _monitor = None, None
        results = await asyncio.gather(
            *(socket.recover() for socket in sockets), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        for error in failed:
            if isinstance(error, ERRORS):
                _start("Redis", error)  # Gone again: a new monitor restores these sockets.
            else:
                logger.error("live: a socket could not be restored", exc_info=error)
        logger.warning("live: restored %d socket(s)", len(sockets) - len(failed))
        return
