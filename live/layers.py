"""Channel layers: Channels' in-memory layer, with its group sends and expiry sweep made cheap,
and channels-redis's core layer with a bounded connection pool and a prompt cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import time
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer


def _copier(message: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Return a function making independent copies of ``message``, as ``deepcopy`` would.

    Pickled once, unpickled per copy: far cheaper than a ``deepcopy`` per receiver.
    """
    try:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception:  # Not picklable (a local function): copy it the slow way.
        return lambda: deepcopy(message)
    return lambda: pickle.loads(data)  # noqa: S301 (bytes pickled just above)


class InMemoryChannelLayer(BaseInMemoryChannelLayer):
    """Channels' in-memory layer, for one process (the embedded default).

    The base class sweeps every channel and group on every ``receive``, which
    makes a group send to N consumers cost O(N²): here the sweep runs at most
    once per ``sweep_interval``. Its ``group_send`` starts a task per member
    and deep-copies the message for each; here the copies are made from one
    pickle and put straight on the members' queues. Each receiver still gets
    its own copy, in the same order.
    """

    sweep_interval = 1.0
    _swept = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept < self.sweep_interval:
            return
        self._swept = now
        super()._clean_expired()  # type: ignore[misc]

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send a message onto a (general or specific) channel."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, deepcopy(message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send a copy of ``message`` to every channel of ``group``; full channels miss it."""
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        copy = _copier(message)
        for channel in list(members):
            # A full channel misses the message, as with every Channels layer.
            with contextlib.suppress(ChannelFull):
                self._put(channel, copy())

    def _put(self, channel: str, message: dict[str, Any]) -> None:
        queues: dict[str, asyncio.Queue[tuple[float, dict[str, Any]]]] = self.channels
        queue = queues.get(channel)
        if queue is None:
            queue = queues[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        try:
            queue.put_nowait((time.time() + self.expiry, message))
        except asyncio.QueueFull as exc:
            raise ChannelFull(channel) from exc


#: Receives being cancelled in the background (strong references until they end).
_ending: set[asyncio.Task[Any]] = set()


async def _cancel_until_done(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` until it ends; read its outcome so nothing is reported.

    redis-py can swallow a cancel that lands as its read times out; channels-redis's
    pop then loops on the channel of a consumer that is gone. Cancelling again ends it.
    """
    interrupted = False
    while not task.done():
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=0.2)
        except asyncio.CancelledError:
            interrupted = True  # The loop is closing: see the pop out first all the same.
    if not task.cancelled():
        task.exception()
    if interrupted:
        raise asyncio.CancelledError


try:
    from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
except ImportError:  # pragma: no cover - channels-redis is a dependency
    BaseRedisChannelLayer = None


if BaseRedisChannelLayer is not None:

    class RedisChannelLayer(BaseRedisChannelLayer):  # type: ignore[misc]
        """channels-redis's core layer for many sockets per process.

        - Its pool waits for a free connection (``BlockingConnectionPool``, at most
          ``max_connections``, 100 by default) instead of opening one per concurrent
          call and keeping them all after a burst of joins or closes.
        - ``receive`` gives up at once when cancelled, and the pop it was waiting on is
          cancelled in the background until it ends: the base class can swallow the
          cancel and hold a closing consumer until the server kills it.
        """

        def create_pool(self, index: int) -> Any:
            """Return a blocking pool for ``hosts[index]`` when it is given by address."""
            from redis.asyncio import BlockingConnectionPool

            host = dict(self.hosts[index])
            if "address" not in host:
                return super().create_pool(index)
            address = host.pop("address")
            host.setdefault("max_connections", 100)
            host.setdefault("timeout", 20)  # seconds to wait for a free connection
            return BlockingConnectionPool.from_url(address, **host)

        async def _end_receive(self, pending: asyncio.Future[Any], channel: str) -> None:
            await _cancel_until_done(pending)
            # The consumer is gone: messages that were on their way to its channel would
            # stay in the receive buffer for good. Drop them once they have arrived.
            await asyncio.sleep(1)
            self.receive_buffer.pop(channel, None)

        async def receive(self, channel: str) -> Any:
            """Return the next message on ``channel``; on cancel, leave the pop to finish alone."""
            pending = asyncio.ensure_future(super().receive(channel))
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                ending = asyncio.ensure_future(self._end_receive(pending, channel))
                _ending.add(ending)
                ending.add_done_callback(_ending.discard)
                raise
