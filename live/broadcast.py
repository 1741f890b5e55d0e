"""Fan-out: ``broadcast`` sends an event to every component following a group."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from live import catchup
from live.consumer import BROADCAST_TYPE, UPDATE_TYPE, component_group

_GROUP = re.compile(r"^[a-zA-Z0-9\-_.]{1,99}$")
_EVENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _check(group: str, event: str) -> None:
    if not isinstance(group, str) or not _GROUP.match(group):
        raise ValueError(
            f"Invalid group name {group!r}: use letters, digits, '-', '_' and '.', "
            "fewer than 100 characters."
        )
    if not isinstance(event, str) or not _EVENT.match(event):
        raise ValueError(
            f"Invalid event name {event!r}: use lowercase letters, digits and '_', "
            "starting with a letter."
        )


async def _asend(group: str, event: str, payload: dict[str, Any]) -> None:
    entry = await sync_to_async(catchup.append)(group, event, payload)
    layer = get_channel_layer()
    if layer is None:
        return
    await layer.group_send(
        group,
        {
            "type": BROADCAST_TYPE,
            "group": group,
            "epoch": entry.epoch,
            "seq": entry.seq,
            "event": event,
            "payload": payload,
        },
    )


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def broadcast(group: str, event: str, **payload: Any) -> Any:
    """Send ``event`` with ``payload`` to every component following ``group``.

    From sync code it sends after the current transaction commits (at once
    outside one); from async code it returns an awaitable task. The payload
    becomes the keyword arguments of each component's ``on_<event>``.
    """
    _check(group, event)
    if _in_event_loop():
        return asyncio.get_running_loop().create_task(_asend(group, event, payload))
    transaction.on_commit(lambda: async_to_sync(_asend)(group, event, payload))
    return None


def broadcast_component_update(
    component_id: str, html: str | None = None, state: dict[str, Any] | None = None
) -> Any:
    """Push new HTML and/or state straight to one component on every socket showing it."""
    message = {"type": UPDATE_TYPE, "component_id": component_id, "html": html, "state": state}
    layer = get_channel_layer()
    if layer is None:
        return None
    if _in_event_loop():
        return asyncio.get_running_loop().create_task(
            layer.group_send(component_group(component_id), message)
        )
    async_to_sync(layer.group_send)(component_group(component_id), message)
    return None
