"""Internal: fair scheduling of the blocking component code of every socket in one process.

Sync work runs on a pool of ``SYNC_THREADS`` threads of its own. A client (a
user, else an address: see ``client_of``) has at most ``SYNC_PER_CLIENT`` jobs
running at once; its others wait in its queue, and the queues are served in
turn, client after client, and session after session within a client. So a
flood delays another client's job by at most one job per client ahead of it,
never by the flood's length. A client's queue takes at most
``SYNC_QUEUE_PER_CLIENT`` jobs it asked for; past that they get ``RateLimited``.
"""

from __future__ import annotations

import asyncio
import collections
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.db import database_sync_to_async

from live import conf
from live.exceptions import RateLimited

T = TypeVar("T")

#: Seconds a client whose queue is full is told to wait.
RETRY_AFTER = 1


@dataclass(frozen=True)
class Client:
    """Who a job is for: ``key`` shares one share of the threads, ``sub`` takes turns in it."""

    key: str
    sub: str


def client_of(user: Any, session_key: str | None, address: str | None) -> Client:
    """Return the client of a user, session and address.

    Sessions are free to make, so anonymous ones share their address's share
    (behind a proxy, daphne needs ``--proxy-headers`` to know the address);
    without an address (a Unix socket), each session is a client.
    """
    session = f"s:{session_key}" if session_key else None
    if user is not None and getattr(user, "is_authenticated", False):
        key = f"u:{user.pk}"
    elif address is None and session is not None:
        key = session
    else:
        key = f"ip:{address or 'unknown'}"
    return Client(key, session or key)


class Scheduler:
    """Admit jobs to ``workers`` threads, at most ``per_client`` per client, in turn.

    Internal; one per event loop (``scheduler()``). ``acquire`` waits for a slot,
    ``release`` frees it and starts the next waiting client's job.
    """

    def __init__(self, workers: int, per_client: int, max_queued: int) -> None:
        self.workers = max(1, workers)
        self.per_client = max(1, per_client)
        self.max_queued = max(0, max_queued)
        self.running = 0
        self._running: dict[str, int] = {}
        # key -> sub -> its waiting jobs; a dict keeps the subs in turn order.
        self._queues: dict[str, dict[str, collections.deque[asyncio.Future[None]]]] = {}
        self._queued: dict[str, int] = {}
        # Keys with waiting jobs, in turn order; each at most once.
        self._ring: collections.deque[str] = collections.deque()

    @property
    def limits(self) -> tuple[int, int, int]:
        """``(workers, per_client, max_queued)``."""
        return self.workers, self.per_client, self.max_queued

    def queued(self, key: str | None = None) -> int:
        """Return how many jobs wait (of client ``key``, or in all)."""
        if key is None:
            return sum(self._queued.values())
        return self._queued.get(key, 0)

    async def acquire(self, client: Client, bounded: bool = True) -> None:
        """Wait for a slot for ``client``; ``bounded`` jobs are refused when its queue is full."""
        key = client.key
        if (
            self.running < self.workers
            and self._running.get(key, 0) < self.per_client
            and key not in self._queued
        ):
            self._start(key)
            return
        waiting = self._queued.get(key, 0)
        if bounded and waiting >= self.max_queued:
            raise RateLimited(
                retry_after=RETRY_AFTER,
                message=f"Too much work queued for this client ({waiting} events); retry later",
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        subs = self._queues.setdefault(key, {})
        if key not in self._queued:
            self._ring.append(key)
        subs.setdefault(client.sub, collections.deque()).append(future)
        self._queued[key] = waiting + 1
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(client)  # granted, then cancelled before it could start
            else:
                self._forget(client, future)
            raise

    def release(self, client: Client) -> None:
        """Free ``client``'s slot and start whichever jobs may run now."""
        key = client.key
        self.running -= 1
        left = self._running[key] - 1
        if left:
            self._running[key] = left
        else:
            del self._running[key]
        if key in self._queued and len(self._ring) > 1:
            # It just had its turn: the clients that waited meanwhile go first.
            self._ring.remove(key)
            self._ring.append(key)
        self._dispatch()

    def _start(self, key: str) -> None:
        self.running += 1
        self._running[key] = self._running.get(key, 0) + 1

    def _dispatch(self) -> None:
        """Grant free slots to waiting clients in turn, skipping those at their limit."""
        skipped = 0
        while self.running < self.workers and skipped < len(self._ring):
            key = self._ring.popleft()
            if self._running.get(key, 0) >= self.per_client:
                self._ring.append(key)
                skipped += 1
                continue
            future = self._next(key)
            if key in self._queued:
                self._ring.append(key)
            if future is None:
                continue
            self._start(key)
            future.set_result(None)
            skipped = 0

    def _next(self, key: str) -> asyncio.Future[None] | None:
        """Pop the next job of ``key``: the first session's, which then goes last."""
        subs = self._queues[key]
        while subs:
            sub, jobs = next(iter(subs.items()))
            future = jobs.popleft()
            del subs[sub]
            if jobs:
                subs[sub] = jobs
            self._count_out(key)
            if not future.done():  # a cancelled one is left to its waiter
                return future
        return None

    def _forget(self, client: Client, future: asyncio.Future[None]) -> None:
        """Drop a cancelled job that was still waiting."""
        jobs = self._queues.get(client.key, {}).get(client.sub)
        if jobs is None or future not in jobs:
            return
        jobs.remove(future)
        if not jobs:
            del self._queues[client.key][client.sub]
        self._count_out(client.key)
        if client.key not in self._queued:
            self._ring.remove(client.key)

    def _count_out(self, key: str) -> None:
        left = self._queued[key] - 1
        if left:
            self._queued[key] = left
        else:
            del self._queued[key]
            del self._queues[key]


_schedulers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Scheduler] = (
    weakref.WeakKeyDictionary()
)
_executors: dict[int, ThreadPoolExecutor] = {}


def limits() -> tuple[int, int, int]:
    """Return ``(workers, per_client, max_queued)`` from the settings."""
    # Thread-sensitive code all runs on Django's one shared thread: one job at a time.
    workers = 1 if conf.get("THREAD_SENSITIVE") else int(conf.get("SYNC_THREADS"))
    return workers, int(conf.get("SYNC_PER_CLIENT")), int(conf.get("SYNC_QUEUE_PER_CLIENT"))


def scheduler() -> Scheduler:
    """Return the running loop's scheduler (a new one when the settings changed)."""
    loop = asyncio.get_running_loop()
    wanted = limits()
    found = _schedulers.get(loop)
    if found is None or found.limits != wanted:
        found = _schedulers[loop] = Scheduler(*wanted)
    return found


def executor(workers: int) -> ThreadPoolExecutor:
    """Return the process's pool of ``workers`` threads for sync component code."""
    pool = _executors.get(workers)
    if pool is None:
        pool = _executors[workers] = ThreadPoolExecutor(workers, thread_name_prefix="live-sync")
    return pool


async def run(func: Callable[[], T], client: Client, bounded: bool = False) -> T:
    """Run ``func`` in a worker thread (fresh DB connections) when ``client``'s turn comes."""
    queue = scheduler()
    await queue.acquire(client, bounded)
    try:
        if conf.get("THREAD_SENSITIVE"):
            runner = database_sync_to_async(func, thread_sensitive=True)
        else:
            runner = database_sync_to_async(
                func, thread_sensitive=False, executor=executor(queue.workers)
            )
        result: T = await runner()
        return result
    finally:
        queue.release(client)
