"""Fan-out: ``broadcast`` sends an event to every component following a group."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from live import catchup, outages
from live.component import EVENT_NAME, GROUP_NAME

logger = logging.getLogger("live")

#: Channel-layer message type of every broadcast; handled by ``live_broadcast``.
BROADCAST_TYPE = "live.broadcast"
#: Channel-layer message type of a direct component push; handled by ``live_update``.
UPDATE_TYPE = "live.update"


def component_group(component_id: str) -> str:
    """Return the group a component's consumers join for direct pushes."""
    return f"live-c-{component_id}"


def _check(group: str, event: str) -> None:
    if not isinstance(group, str) or not GROUP_NAME.match(group):
        raise ValueError(
            f"Invalid group name {group!r}: use letters, digits, '-', '_' and '.', "
            "fewer than 100 characters."
        )
    if not isinstance(event, str) or not EVENT_NAME.match(event):
        raise ValueError(
            f"Invalid event name {event!r}: use lowercase letters, digits and '_', "
            "starting with a letter."
        )


async def _asend(group: str, event: str, payload: dict[str, Any]) -> None:
    try:
        # Not thread-sensitive: the caller may be the sensitive thread, waiting on this send.
        entry = await sync_to_async(catchup.append, thread_sensitive=False)(group, event, payload)
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
    except outages.ERRORS as exc:
        # The change that broadcast is committed; followers re-read it when Redis is back.
        logger.warning("live: broadcast %r to %r not sent: Redis unreachable", event, group)
        outages.report("Redis", exc)


#: The event loop serving the sockets of this process, remembered by ``LiveConsumer``.
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_loop() -> None:
    """Remember the running loop as the one serving this process's sockets."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


async def _await_made(make: Callable[[], Awaitable[Any]]) -> Any:
    return await make()


def run_from_sync(make: Any) -> None:
    """Run the coroutine ``make()`` from sync code, on the sockets' loop when there is one.

    The in-memory channel layer only works from the loop its consumers run on,
    so a job thread or a signal must hand its sends to that loop.
    """
    loop = _server_loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=10)
    else:
        async_to_sync(_await_made)(make)


# Strong references to sends in flight, so a task nobody awaits is not collected early.
_tasks: set[asyncio.Task[Any]] = set()


def send_soon(make: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any] | None:
    """Run the coroutine ``make()`` from sync or async code.

    In the event loop it becomes a task (returned, so it can be awaited); from
    sync code it runs to completion on the sockets' loop (see ``run_from_sync``).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        run_from_sync(make)
        return None
    task = loop.create_task(_await_made(make))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


def broadcast(group: str, event: str, **payload: Any) -> Any:
    """Send ``event`` with ``payload`` to every component following ``group``.

    From sync code it sends after the current transaction commits (at once
    outside one); from async code it returns an awaitable task. The payload
    becomes the keyword arguments of each component's ``on_<event>``.
    """
    _check(group, event)

    def send() -> Awaitable[None]:
        return _asend(group, event, payload)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        transaction.on_commit(lambda: send_soon(send))
        return None
    return send_soon(send)


def broadcast_component_update(
    component_id: str, html: str | None = None, state: dict[str, Any] | None = None
) -> Any:
    """Push new HTML and/or state straight to one component on every socket showing it."""
    message = {"type": UPDATE_TYPE, "component_id": component_id, "html": html, "state": state}
    layer = get_channel_layer()
    if layer is None:
        return None
    return send_soon(lambda: layer.group_send(component_group(component_id), message))
