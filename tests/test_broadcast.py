"""Fan-out: broadcast from sync and async code, on_commit, catch-up, coalescing, pushes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

import live
from live import registry
from live.testing import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


class Feed(live.Component):
    subscriptions = ["feed-{room}"]
    renderer = live.MockRenderer(lambda ctx: "|".join(ctx["items"]) + f"#{ctx['renders']}")

    def mount(self) -> None:
        self.state = {"items": [], "renders": 0}

    def on_posted(self, text: str) -> None:
        self.state["items"].append(text)
        self.state["renders"] += 1

    def on_missed_broadcasts(self, group: str) -> None:
        self.state["items"].append("<reloaded>")


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_feed2")(Feed)
    yield
    registry.unregister("t_feed2")


def sync_broadcast_in_transaction(commit: bool) -> None:
    try:
        with transaction.atomic():
            live.broadcast("feed-r", "posted", text="committed" if commit else "rolled-back")
            if not commit:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass


async def test_sync_broadcast_waits_for_commit_and_drops_on_rollback() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_feed2", room="r")
        await database_sync_to_async(sync_broadcast_in_transaction)(False)
        await database_sync_to_async(sync_broadcast_in_transaction)(True)
        await client.wait_for(view, "committed")
        assert "rolled-back" not in view.html
        assert await client.nothing_received()


async def test_broadcasts_while_away_are_caught_up_on_rejoin() -> None:
    client = await LiveClient().connect()
    view = await client.mount("t_feed2", room="r")
    await live.broadcast("feed-r", "posted", text="one")
    await client.wait_for(view, "one")
    await client.close()
    for text in ("two", "three"):
        await live.broadcast("feed-r", "posted", text=text)
    again = await LiveClient().connect()
    frame = await again.join(view)
    assert frame["type"] in ("diff", "full")
    assert view.html.startswith("one|two|three#")
    await again.close()


async def test_a_lost_delivery_is_recovered_from_the_log() -> None:
    from live import catchup

    async with LiveClient() as client:
        view = await client.mount("t_feed2", room="r")
        # Logged but never delivered, as when a channel layer drops a message.
        await database_sync_to_async(catchup.append)("feed-r", "posted", {"text": "dropped"})
        await live.broadcast("feed-r", "posted", text="next")
        await client.wait_for(view, "next")
        assert view.html.startswith("dropped|next#")


async def test_log_gone_calls_on_missed_broadcasts() -> None:
    from django.core.cache import cache

    client = await LiveClient().connect()
    view = await client.mount("t_feed2", room="r")
    await client.close()
    await live.broadcast("feed-r", "posted", text="one")

    def forget_log() -> None:
        cache.delete(f"live:g:feed-r:{cache.get('live:g:feed-r:epoch')}:1")

    await database_sync_to_async(forget_log)()
    again = await LiveClient().connect()
    await again.join(view)
    assert "<reloaded>" in view.html
    await again.close()


async def test_bursts_are_coalesced_per_component() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_feed2", room="r")
        for i in range(30):
            await live.broadcast("feed-r", "posted", text=str(i))
        await client.wait_for(view, "|29#")
        # Whatever else was still on its way arrives within a few push intervals.
        while not await client.nothing_received(0.3):
            await client.receive()
        # 30 broadcasts, far fewer renders sent: the join frame plus a handful of pushes.
        assert 1 < len(view.frames) < 15
        assert view.html.endswith("#30")


async def test_subscriptions_that_change_with_state_are_rejoined() -> None:
    class Room(live.Component):
        renderer = live.MockRenderer(lambda ctx: f"{ctx['room']}:{'|'.join(ctx['items'])}")

        def mount(self) -> None:
            self.state = {"room": "a", "items": []}

        def get_subscriptions(self) -> list[str]:
            return [f"t-room-{self.state['room']}"]

        def on_move(self, room: str) -> None:
            self.state.update(room=room, items=[])

        @live.broadcast_only
        def on_posted(self, text: str) -> None:
            self.state["items"].append(text)

    live.register("t_room")(Room)
    try:
        async with LiveClient() as client:
            view = await client.mount("t_room")
            await view.event("move", room="b")
            await live.broadcast("t-room-a", "posted", text="old")
            await live.broadcast("t-room-b", "posted", text="new")
            await client.wait_for(view, "b:new")
            assert "old" not in view.html
    finally:
        registry.unregister("t_room")


async def test_broadcast_component_update_pushes_html() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_feed2", room="r")
        await live.broadcast_component_update(view.id, html="<p>pushed</p>")
        await client.wait_for(view, "<p>pushed</p>")
        assert view.version == 2


def test_invalid_group_and_event_names() -> None:
    with pytest.raises(ValueError, match="Invalid group name 'a b'"):
        live.broadcast("a b", "x")
    with pytest.raises(ValueError, match="Invalid event name 'Bad'"):
        live.broadcast("ok", "Bad")
    with pytest.raises(ValueError, match="Invalid group name"):
        live.broadcast("x" * 100, "x")
