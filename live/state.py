"""Internal: the state store, a snapshot per component in the configured cache.

A snapshot is written after every handled event, before the client is
answered, so a reconnect to any worker resumes from the last acknowledged state.
Saves made in the event loop under ``deferred()`` (a broadcast reaching many
sockets of one process) are written together, one ``set_many`` per turn of
the loop; their frames wait for ``flushed()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from django.core.cache import BaseCache, caches

from live import conf
from live.types import Params

KEY_PREFIX = "live:s:"
#: HTML shorter than this is stored as is: compressing it saves less than it costs.
COMPRESS_FROM = 512


@dataclass
class Snapshot:
    """The persisted record of one mounted component."""

    name: str
    params: Params
    state_json: str
    version: int
    # The HTML, or as ``pack`` returned it.
    html: str | bytes
    # Broadcast position per followed group: [epoch, last applied seq].
    seqs: dict[str, list[Any]] = field(default_factory=dict)
    # Highest client event ref applied, so a resent event is not applied twice.
    ref: int = 0


def cache() -> BaseCache:
    """Return the cache that holds snapshots and the broadcast log."""
    return caches[conf.get("CACHE")]


def pack(html: str) -> str | bytes:
    """Return ``html`` compressed when it is long enough for that to pay (see ``unpack``)."""
    if len(html) < COMPRESS_FROM:
        return html
    # The HTML is most of a snapshot and compresses about 6:1.
    # surrogatepass: a lone surrogate in server-rendered HTML must not fail the save.
    return zlib.compress(html.encode("utf-8", "surrogatepass"), 1)


def unpack(packed: str | bytes) -> str:
    """Return the HTML that ``pack`` returned ``packed`` for."""
    return (
        packed
        if isinstance(packed, str)
        else zlib.decompress(packed).decode("utf-8", "surrogatepass")
    )


def save(component_id: str, snapshot: Snapshot, ttl: int | None = None) -> None:
    """Persist ``snapshot`` for ``component_id`` (queued under ``deferred()`` in the loop).

    ``ttl`` (seconds) replaces ``LIVE["STATE_TTL"]``, outside ``deferred()``.
    """
    # A shallow record: the cache pickles it at once, a deep copy first only costs time.
    record = dict(vars(snapshot))
    if isinstance(snapshot.html, str):
        record["html"] = pack(snapshot.html)
    if _deferring.get():
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            pass  # A worker thread: no loop to flush the batch, write now.
        else:
            _batch(loop).add(KEY_PREFIX + component_id, record)
            return
    cache().set(KEY_PREFIX + component_id, record, conf.get("STATE_TTL") if ttl is None else ttl)


def touch(component_id: str) -> None:
    """Keep the snapshot of ``component_id`` for ``LIVE["STATE_TTL"]`` from now (it is in use)."""
    cache().touch(KEY_PREFIX + component_id, conf.get("STATE_TTL"))


_deferring: ContextVar[bool] = ContextVar("live_state_deferring", default=False)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Queue the saves made in the event loop within, to be written with others; see ``flushed``."""
    token = _deferring.set(True)
    try:
        yield
    finally:
        _deferring.reset(token)


async def flushed() -> None:
    """Wait until the saves queued so far in this loop are written; raise if writing failed."""
    batch = _batches.get(asyncio.get_running_loop())
    if batch is not None and batch.done is not None:
        await asyncio.shield(batch.done)


class _Batch:
    """The saves queued in one event loop and the future of their write."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.records: dict[str, Any] = {}
        self.done: asyncio.Future[None] | None = None

    def add(self, key: str, record: dict[str, Any]) -> None:
        self.records[key] = record
        if self.done is None:
            self.done = self.loop.create_future()
            # A failed write is raised by ``flushed``; unawaited, it is not a warning.
            self.done.add_done_callback(lambda done: done.cancelled() or done.exception())
            # After the tasks ready now: they add their saves to the same write.
            self.loop.call_soon(self.write)

    def write(self) -> None:
        done, records = self.done, self.records
        self.done, self.records = None, {}
        assert done is not None
        try:
            cache().set_many(records, conf.get("STATE_TTL"))
        except Exception as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)


_batches: WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = WeakKeyDictionary()


def _batch(loop: asyncio.AbstractEventLoop) -> _Batch:
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch(loop)
    return batch


def load(component_id: str) -> Snapshot | None:
    """Return the snapshot of ``component_id``, or ``None`` if there is none."""
    raw = cache().get(KEY_PREFIX + component_id)
    if not isinstance(raw, dict):
        return None
    if isinstance(raw.get("html"), bytes):
        raw["html"] = unpack(raw["html"])
    try:
        return Snapshot(**raw)
    except TypeError:
        # Written by an incompatible version: treat as missing.
        return None


def delete(component_id: str) -> None:
    """Forget the snapshot of ``component_id``."""
    cache().delete(KEY_PREFIX + component_id)
