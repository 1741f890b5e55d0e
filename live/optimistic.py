"""Optimistic UI: a DOM patch the browser applies the instant the user acts.

``get_optimistic_patch(event, payload)`` returns ``{selector: changes}``
(``"this"`` is the element the user acted on). The patch travels with the
render, on the element, via ``{% live_event %}``; ``live.js`` applies it at
once, the server's answer replaces it, and an error, a 429, a timeout or a
disconnect undoes it exactly. Changes: ``text``, ``class_add``,
``class_remove``, ``attr`` (a dict; ``None`` removes), ``disabled``, ``hidden``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

PATCH_KEYS = frozenset({"attr", "class_add", "class_remove", "disabled", "hidden", "text"})


def check_patch(patch: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``patch`` if every change is one ``live.js`` knows, else raise ``ValueError``."""
    for selector, changes in patch.items():
        if not isinstance(selector, str) or not isinstance(changes, Mapping):
            raise ValueError(
                f"Optimistic patch entries map a selector to changes, got {selector!r}"
            )
        unknown = set(changes) - PATCH_KEYS
        if unknown:
            valid = ", ".join(sorted(PATCH_KEYS))
            raise ValueError(
                f"Unknown optimistic change {sorted(unknown)[0]!r} for {selector!r}; "
                f"valid changes: {valid}."
            )
    return dict(patch)


class OptimisticMixin:
    """Declare static patches per event in ``optimistic``, or compute them per payload."""

    #: ``{"event": {selector: changes}}``, used by the default ``get_optimistic_patch``.
    optimistic: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def get_optimistic_patch(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return the patch for ``event`` with ``payload``, or ``None``."""
        patch = self.optimistic.get(event)
        if patch is None:
            parent = super()
            getter = getattr(parent, "get_optimistic_patch", None)
            return getter(event, payload) if getter is not None else None
        return check_patch(patch)
