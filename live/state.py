"""Internal: the state store, a snapshot per component in the configured cache.

A snapshot is written after every handled event, before the client is
answered, so a reconnect to any worker resumes from the last acknowledged state.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

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
    return zlib.compress(html.encode(), 1)


def unpack(packed: str | bytes) -> str:
    """Return the HTML that ``pack`` returned ``packed`` for."""
    return packed if isinstance(packed, str) else zlib.decompress(packed).decode()


def save(component_id: str, snapshot: Snapshot) -> None:
    """Persist ``snapshot`` for ``component_id``."""
    # A shallow record: the cache pickles it at once, a deep copy first only costs time.
    record = dict(vars(snapshot))
    if isinstance(snapshot.html, str):
        record["html"] = pack(snapshot.html)
    cache().set(KEY_PREFIX + component_id, record, conf.get("STATE_TTL"))


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
