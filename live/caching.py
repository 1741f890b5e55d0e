"""``CacheMixin``: serve a component's first render from the cache, skipping ``mount()``.

A hit restores the cached state and HTML (no ``mount()``, no render, no
queries); a miss mounts, renders and stores. Events always bypass the cache.
The key is the component name and params; a component that shows per-user
data must set ``cache_per_user = True`` (or override ``get_cache_key``) so one
user's render is never served to another.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from django.core.cache import caches

from live import conf
from live.types import Params, State

PREFIX = "live:cache:"


class CacheMixin:
    """Cache the result of ``mount()`` + first render for ``cache_ttl`` seconds."""

    #: Seconds a cached first render is served (``cache_timeout`` is accepted too).
    cache_ttl: ClassVar[int | None] = None
    cache_timeout: ClassVar[int | None] = None
    #: Add the user to the key: required when the render shows per-user data.
    cache_per_user: ClassVar[bool] = False

    name: ClassVar[str]
    params: Params
    state: State
    user: Any

    def get_cache_ttl(self) -> int:
        """Return the cache lifetime in seconds."""
        ttl = self.cache_ttl if self.cache_ttl is not None else self.cache_timeout
        return 60 if ttl is None else int(ttl)

    def get_cache_key(self, name: str, params: Params, state: State | None) -> str:
        """Return the cache key for a component ``name`` with ``params``."""
        encoded = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
        digest = hashlib.sha256(encoded.encode()).hexdigest()[:32]
        key = f"{PREFIX}{name}:{digest}"
        if self.cache_per_user:
            key += f":u{getattr(self.user, 'pk', None) or 'anon'}"
        return key

    def _cache_key(self) -> str:
        return self.get_cache_key(self.name, self.params, None)

    def load_from_cache(self) -> tuple[State, str, dict[str, list[Any]]] | None:
        """Return ``(state, html, broadcast positions)`` of a cached first render, if any."""
        cached = caches[conf.get("CACHE")].get(self._cache_key())
        if not isinstance(cached, tuple) or len(cached) != 3:
            return None
        state, html, seqs = cached
        return dict(state), html, {group: list(pos) for group, pos in seqs.items()}

    def store_in_cache(self, state: State, html: str, seqs: dict[str, list[Any]]) -> None:
        """Store a first render for the next mounts."""
        caches[conf.get("CACHE")].set(self._cache_key(), (state, html, seqs), self.get_cache_ttl())

    def invalidate_cache(self) -> None:
        """Forget the cached first render for this component's params (and user)."""
        caches[conf.get("CACHE")].delete(self._cache_key())
