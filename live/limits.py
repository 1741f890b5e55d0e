"""Internal: per-client limits shared by every worker: sockets, components, renders, events.

A client is the user when logged in. An anonymous visitor counts against their
cookie (visitor id or session) and, with ``ADDRESS_LIMIT_FACTOR`` times each
limit, against their address: cookies are theirs to rotate, the address is not.

Open sockets and joined components are counted in the shared cache per epoch
of ``LIVE["CLIENT_COUNT_EPOCH"]`` seconds: each socket counts what it holds in
the current epoch and the next (a heartbeat per worker adds the next one), and
takes it back when it closes. What a worker killed with ``kill -9`` held is
forgotten when its epochs pass, after at most two epochs: no client stays
locked out, and no list of workers is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
import weakref
from dataclasses import dataclass
from typing import Any

from live import conf, outages, ratelimit
from live.exceptions import RateLimited
from live.state import cache

PREFIX = "live:cl:"
SOCKETS = "sockets"
COMPONENTS = "components"
#: The setting holding each kind's limit.
SETTINGS = {SOCKETS: "MAX_SOCKETS_PER_CLIENT", COMPONENTS: "MAX_COMPONENTS_PER_CLIENT"}
_NOUNS = {SOCKETS: "open connections", COMPONENTS: "joined components"}


@dataclass(frozen=True)
class Client:
    """Who is asking: the counters their work counts against, each with its limit's multiple."""

    keys: tuple[tuple[str, int], ...]

    @classmethod
    def of(
        cls, user: Any, session_key: str | None, visitor: str | None, address: str | None
    ) -> Client:
        """Return the client of a user, else of a visitor or session and an address.

        An unknown address (a server that does not say) binds no one: counting every such
        visitor together would let one of them lock all the others out.
        """
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(((f"u:{user.pk}", 1),))
        keys: list[tuple[str, int]] = []
        # Hashed: cache keys are listed by operators, cookies are secrets.
        cookie = f"v:{visitor}" if visitor else f"s:{session_key}" if session_key else None
        if cookie is not None:
            keys.append((hashlib.sha256(cookie.encode()).hexdigest()[:20], 1))
        if address:
            keys.append((f"ip:{address}", max(1, int(conf.get("ADDRESS_LIMIT_FACTOR")))))
        return cls(tuple(keys))


def _incr(key: str, delta: int, ttl: int) -> int:
    store = cache()
    try:
        return int(store.incr(key, delta))
    except ValueError:
        store.add(key, 0, ttl)
        try:
            return int(store.incr(key, delta))
        except ValueError:  # evicted between add and incr
            store.set(key, delta, ttl)
            return delta


def _decr(key: str, delta: int) -> None:
    with contextlib.suppress(ValueError):  # expired: nothing left to take back
        cache().decr(key, delta)


def count_render(client: Client) -> None:
    """Count one first render (a token minted) or raise ``RateLimited``."""
    text = conf.get("CLIENT_RENDER_RATE")
    if not text:
        return
    rate = ratelimit.Rate.parse(text)
    for key, factor in client.keys:
        try:
            ratelimit.hit(f"render:{key}", ratelimit.Rate(rate.limit * factor, rate.period))
        except RateLimited as error:
            message = _over(
                "components rendered",
                key,
                f"the limit is {text!r}",
                f"the limit is {_times(factor)}{text!r}",
            )
            raise RateLimited(error.retry_after, message) from None


def _times(factor: int) -> str:
    return f"{factor} x " if factor > 1 else ""


def _over(noun: str, key: str, limit: str, address_limit: str) -> str:
    """Return the message for a client over a limit, naming the address if that is what is over."""
    if key.startswith("ip:"):
        return f"Too many {noun} from this address; {address_limit}"
    return f"Too many {noun}; {limit} per client"


def count_event(client: Client, now: float | None = None) -> None:
    """Count one event (any socket, or an HTTP POST) or raise ``RateLimited``."""
    text = conf.get("CLIENT_EVENT_RATE")
    if not text:
        return
    rate = ratelimit.Rate.parse(text)
    now = time.time() if now is None else now
    # A fixed window: one round trip per counter, as this runs before every event.
    window = int(now // rate.period)
    for key, factor in client.keys:
        name = f"{PREFIX}ev:{key}:{rate.period}:{window}"
        if _incr(name, 1, rate.period + 1) > rate.limit * factor:
            retry = max(1, math.ceil((window + 1) * rate.period - now))
            message = _over(
                "events", key, f"the limit is {text!r}", f"the limit is {_times(factor)}{text!r}"
            )
            raise RateLimited(retry, message)


def period() -> int:
    """Return the seconds per counting epoch of open sockets and joined components."""
    return max(1, int(conf.get("CLIENT_COUNT_EPOCH")))


def epoch(now: float | None = None) -> int:
    """Return the counting epoch of ``now``."""
    return int((time.time() if now is None else now) // period())


class Holding:
    """What one socket holds for its client (itself, its components), counted per epoch."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.held = {SOCKETS: 0, COMPONENTS: 0}
        #: The epochs this socket's holdings are counted in.
        self.epochs: set[int] = set()
        _watch(self)

    @staticmethod
    def name(kind: str, key: str, at: int) -> str:
        """Return the counter of ``kind`` for client ``key`` in epoch ``at``."""
        return f"{PREFIX}{kind}:{key}:{at}"

    def counted(self, now: int, deltas: dict[str, int] | None = None) -> list[int]:
        """Count the holdings in epochs ``now`` and ``now + 1``; return the epochs counted in.

        With ``deltas``, the additions are collected there for the caller to write.
        """
        self.epochs = {at for at in self.epochs if at >= now}
        for at in (now, now + 1):
            if at in self.epochs:
                continue
            for kind, count in self.held.items():
                for key, _ in self.client.keys if count else ():
                    name = self.name(kind, key, at)
                    if deltas is None:
                        _incr(name, count, 3 * period())
                    else:
                        deltas[name] = deltas.get(name, 0) + count
            self.epochs.add(at)
        return sorted(self.epochs)

    def take(self, kind: str) -> None:
        """Hold one more ``kind``, or raise ``RateLimited`` holding nothing more.

        The store being down lets it through: limits must not close the site.
        """
        limit = int(conf.get(SETTINGS[kind]) or 0)
        try:
            now = epoch()
            done: list[str] = []
            try:
                for at in self.counted(now):
                    for key, factor in self.client.keys:
                        name = self.name(kind, key, at)
                        value = _incr(name, 1, 3 * period())
                        done.append(name)
                        if at == now and limit and value > limit * factor:
                            message = _over(
                                _NOUNS[kind], key, f"at most {limit}", f"at most {limit * factor}"
                            )
                            raise RateLimited(max(1, period() // 3), message)
            except RateLimited:
                for name in done:
                    _decr(name, 1)
                raise
        except outages.ERRORS as exc:
            outages.report("Redis", exc)
        self.held[kind] += 1

    def give(self, kind: str, count: int = 1) -> None:
        """Give back ``count`` of ``kind`` (never more than is held)."""
        count = min(count, self.held[kind])
        if count <= 0:
            return
        self.held[kind] -= count
        now = epoch()
        try:
            for at in self.epochs:
                for key, _ in self.client.keys if at >= now else ():
                    _decr(self.name(kind, key, at), count)
        except outages.ERRORS as exc:
            outages.report("Redis", exc)  # counted until its epochs pass

    def close(self) -> None:
        """Give back everything: the socket closed."""
        for kind in list(self.held):
            self.give(kind, self.held[kind])
        _holdings.discard(self)


_holdings: weakref.WeakSet[Holding] = weakref.WeakSet()
_heartbeats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
    weakref.WeakKeyDictionary()
)


def _watch(holding: Holding) -> None:
    _holdings.add(holding)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop: counted in its first two epochs only (an HTTP request)
    task = _heartbeats.get(loop)
    if task is None or task.done():
        _heartbeats[loop] = loop.create_task(_heartbeat())


async def _heartbeat() -> None:
    """Count every open socket of this worker in the next epoch, before it begins."""
    while _holdings:
        await asyncio.sleep(period() / 3)
        # Planned in the loop, which owns the holdings; written from a thread, so that
        # thousands of sockets do not hold the loop up for the round trips.
        await asyncio.to_thread(write, plan())


def plan(now: float | None = None) -> dict[str, int]:
    """Mark every open socket of this process counted in the epochs of ``now`` and the next.

    Return what to add to which counter for that (see ``write``).
    """
    at = epoch(now)
    deltas: dict[str, int] = {}
    for holding in list(_holdings):
        holding.counted(at, deltas)
    return deltas


def write(deltas: dict[str, int]) -> None:
    """Add ``deltas`` to their counters: one write per client and epoch, however many sockets."""
    try:
        for name, delta in deltas.items():
            _incr(name, delta, 3 * period())
    except outages.ERRORS as exc:
        outages.report("Redis", exc)  # undercounted until the next epoch: fails open


def beat(now: float | None = None) -> None:
    """Count every open socket of this process in the epochs of ``now`` and the next."""
    write(plan(now))
