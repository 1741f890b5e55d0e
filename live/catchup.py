"""Internal: the broadcast log that lets a reconnecting component catch up.

Each group has a counter (``seq``) and an ``epoch`` that changes when the
counter is lost (cache flush, Redis restart). Every broadcast is stored under
its seq for ``LIVE["BROADCAST_LOG_TTL"]`` seconds, so delivery by the channel
layer may be at most once while what a component applies is exactly once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from live import conf
from live.state import cache

PREFIX = "live:g:"


@dataclass(frozen=True)
class Entry:
    """One logged broadcast."""

    group: str
    epoch: str
    seq: int
    event: str
    payload: dict[str, Any]


def _keys(group: str) -> tuple[str, str]:
    return f"{PREFIX}{group}:seq", f"{PREFIX}{group}:epoch"


def append(group: str, event: str, payload: dict[str, Any]) -> Entry:
    """Log a broadcast and return it with its epoch and seq."""
    store = cache()
    seq_key, epoch_key = _keys(group)
    try:
        seq = store.incr(seq_key)
    except ValueError:
        # No counter: a new group, or the cache lost it. Start a new epoch.
        store.add(epoch_key, secrets.token_hex(6), None)
        store.add(seq_key, 0, None)
        seq = store.incr(seq_key)
    epoch = store.get(epoch_key)
    if epoch is None:
        store.add(epoch_key, secrets.token_hex(6), None)
        epoch = store.get(epoch_key)
    store.set(
        f"{PREFIX}{group}:{epoch}:{seq}",
        (event, payload),
        conf.get("BROADCAST_LOG_TTL"),
    )
    return Entry(group=group, epoch=str(epoch), seq=int(seq), event=event, payload=payload)


def position(group: str) -> list[Any]:
    """Return ``[epoch, seq]``: where the log of ``group`` stands now."""
    seq_key, epoch_key = _keys(group)
    values = cache().get_many([seq_key, epoch_key])
    return [values.get(epoch_key), int(values.get(seq_key) or 0)]


def since(group: str, epoch: str, after: int, until: int) -> list[Entry] | None:
    """Return entries ``after < seq <= until`` of ``epoch``, or ``None`` if any is gone."""
    if until <= after:
        return []
    if until - after > conf.get("BROADCAST_LOG_LENGTH"):
        return None
    keys = [f"{PREFIX}{group}:{epoch}:{seq}" for seq in range(after + 1, until + 1)]
    found = cache().get_many(keys)
    entries = []
    for seq, key in zip(range(after + 1, until + 1), keys, strict=True):
        if key not in found:
            return None
        event, payload = found[key]
        entries.append(Entry(group=group, epoch=epoch, seq=seq, event=event, payload=payload))
    return entries
