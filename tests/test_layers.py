"""The in-memory channel layer: group sends copy the message per member, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.exceptions import ChannelFull

from live.layers import InMemoryChannelLayer


async def test_group_send_gives_each_member_its_own_copy_in_order() -> None:
    layer = InMemoryChannelLayer()
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("g", channel)
    message: dict[str, Any] = {"type": "t.x", "payload": {"items": [1, 2]}}
    await layer.group_send("g", message)
    await layer.group_send("g", {"type": "t.y"})
    received = [await layer.receive(channel) for channel in channels]
    assert received == [message] * 3
    received[0]["payload"]["items"].append(3)
    assert received[1]["payload"]["items"] == [1, 2]
    assert message["payload"]["items"] == [1, 2]
    assert [await layer.receive(channel) for channel in channels] == [{"type": "t.y"}] * 3


async def test_group_send_copies_what_pickle_cannot() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)

    def callback() -> int:
        return 1

    items = [1]
    await layer.group_send("g", {"type": "t.x", "callback": callback, "items": items})
    received = await layer.receive(channel)
    assert received["callback"] is callback
    assert received["items"] == items
    assert received["items"] is not items


async def test_group_send_skips_full_channels_and_send_raises() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    full, free = await layer.new_channel(), await layer.new_channel()
    await layer.send(full, {"type": "t.first"})
    for channel in (full, free):
        await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "t.x"})
    assert await layer.receive(full) == {"type": "t.first"}
    assert await layer.receive(free) == {"type": "t.x"}
    await layer.send(full, {"type": "t.again"})
    with pytest.raises(ChannelFull):
        await layer.send(full, {"type": "t.over"})


async def test_group_send_to_an_unknown_group_does_nothing() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_send("nobody", {"type": "t.x"})
    assert layer.channels == {}
    await asyncio.sleep(0)
