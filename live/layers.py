"""Channel layers: Channels' in-memory layer with its expiry sweep amortised."""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer


class InMemoryChannelLayer(BaseInMemoryChannelLayer):
    """Channels' in-memory layer, sweeping expired messages at most once per ``sweep_interval``.

    The base class sweeps every channel and group on every ``receive``, which
    makes a group send to N consumers cost O(N²).
    """

    sweep_interval = 1.0
    _swept = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept < self.sweep_interval:
            return
        self._swept = now
        super()._clean_expired()  # type: ignore[misc]
