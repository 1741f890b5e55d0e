"""Composition: fill a component's slots with other components.

``compose(Product, params={...}, reviews=Reviews)`` returns a mounted parent
whose ``dispatch()`` renders it with its children in one call. Rendered on a
live page, each child keeps its own root, token, events and subscriptions;
the parent's HTML holds only an empty root for it, which ``live.js`` never
overwrites.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from live.component import Component, run
from live.types import Params

#: State key where a live parent records its children's ids by slot.
SLOTS_KEY = "_slots"


def placeholder(component_id: str) -> SafeString:
    """Return the empty root a live parent renders in place of a child."""
    return format_html(
        '<div id="{}" data-live-id="{}" data-live-slot></div>', component_id, component_id
    )


def compose(
    cls: type[Component],
    params: Params | None = None,
    *,
    user: Any = None,
    request: Any = None,
    mount: bool = True,
    **slot_components: type[Component] | Component | str,
) -> Component:
    """Return ``cls`` with each named slot filled by a component (class or instance) or HTML.

    Child classes get the same ``params``; everything is mounted unless
    ``mount=False`` (live rendering mounts them itself).
    """
    parent = cls(params=params, user=user, request=request)
    if mount:
        run(parent.mount())
        parent.is_mounted = True
    for slot, child in slot_components.items():
        if isinstance(child, type) and issubclass(child, Component):
            child = child(params=params, user=user, request=request)
            if mount:
                run(child.mount())
                child.is_mounted = True
        parent.fill_slot(slot, child)
    return parent
