"""The socket transport through the real ASGI stack and ``WebsocketCommunicator``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import live
from live import registry
from live.testing import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


class Counter(live.Component):
    renderer = live.MockRenderer(lambda ctx: f"<p>count={ctx['count']}</p><p>tail</p>")

    def mount(self) -> None:
        self.state = {"count": int(self.params.get("start", 0)), "secret": "s"}

    def on_increment(self, by: int = 1) -> None:
        self.state["count"] += by

    def on_boom(self) -> None:
        self.state["count"] = 999
        raise RuntimeError("internal detail that must not leak")

    def _load(self) -> None:
        self.state["count"] = -1


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_counter")(Counter)
    yield
    registry.unregister("t_counter")


async def test_join_event_diff_round_trip() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_counter", start=5)
        assert view.html == "<p>count=5</p><p>tail</p>"
        frame = await view.event("increment", by="2")
        assert frame == {
            "type": "diff",
            "id": view.id,
            "v": 2,
            "ref": frame["ref"],
            "ops": [[9, 1, "7"]],
        }
        assert view.html == "<p>count=7</p><p>tail</p>"
        assert view.version == 2


async def test_unknown_private_and_dunder_handlers_are_refused() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_counter")
        for name in ["_load", "mount", "__init__", "missed_broadcasts", "render", "nope"]:
            frame = await view.event(name)
            assert frame["type"] == "error"
            assert frame["code"] == "unknown_event"
            assert frame["message"] == (
                f"Unknown event {name!r} for component 't_counter'. "
                "Available events: boom, increment."
            )
        assert (await view.event("increment"))["type"] == "diff"
        assert "count=1" in view


async def test_wrong_argument_types_give_field_errors_and_change_nothing() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_counter")
        frame = await view.event("increment", by="many")
        assert frame["code"] == "invalid_args"
        assert frame["fields"] == {
            "by": "Input should be a valid integer, unable to parse string as an integer"
        }
        frame = await view.event("increment", by=1, extra=2)
        assert frame["fields"] == {"extra": "Unexpected argument"}
        assert "count=0" in view
        assert (await view.event("increment"))["v"] == 2


async def test_handler_exception_is_generic_and_rolls_back() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_counter")
        frame = await view.event("boom")
        assert frame == {
            "type": "error",
            "id": view.id,
            "ref": frame["ref"],
            "code": "server_error",
            "message": "Internal error",
        }
        frame = await view.event("increment")
        assert view.html == "<p>count=1</p><p>tail</p>"


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        pytest.param("not json", "bad_frame", "Frame is not valid JSON", id="non-json"),
        pytest.param("[1, 2]", "bad_frame", "Frame must be a JSON object", id="array"),
        pytest.param(
            '{"type": "explode"}',
            "bad_frame",
            "Unknown frame type 'explode'; expected one of: event, join, leave, ping, resync",
            id="unknown-type",
        ),
        pytest.param(
            '{"type": "event", "id": "lvnothere", "event": "increment"}',
            "not_joined",
            "Component is not joined on this connection; join it first",
            id="not-joined",
        ),
        pytest.param(
            '{"type": "join", "id": "x", "token": "forged:token"}',
            "token_invalid",
            "Invalid component token",
            id="forged-token",
        ),
        pytest.param(
            '{"type": "ping", "x": ' + "[" * 20000 + "]" * 20000 + "}",
            "bad_frame",
            "Frame is nested too deeply",
            id="deep-nesting",
        ),
        pytest.param(
            '{"type": "ping", "x": ' + "[" * 40 + "]" * 40 + "}",
            "bad_frame",
            "Frame is nested too deeply",
            id="too-deep",
        ),
        pytest.param(
            "x" * 70000,
            "too_large",
            "Frame of 70000 bytes is over the limit of 65536",
            id="oversized",
        ),
    ],
)
async def test_bad_frames_get_error_frames_and_leave_state_intact(
    raw: str, code: str, message: str
) -> None:
    async with LiveClient() as client:
        view = await client.mount("t_counter")
        await view.event("increment")
        await client.send(raw)
        frame = await client.receive()
        assert frame["type"] == "error"
        assert (frame["code"], frame["message"]) == (code, message)
        assert (await view.event("increment"))["type"] == "diff"
        assert "count=2" in view


async def test_two_components_on_one_socket_are_independent() -> None:
    async with LiveClient() as client:
        first = await client.mount("t_counter", start=1)
        second = await client.mount("t_counter", start=10)
        await first.event("increment")
        await first.event("boom")
        await second.event("increment", by=5)
        assert "count=2" in first
        assert "count=15" in second


async def test_token_of_another_user_is_refused(user: Any, other_user: Any) -> None:
    alice = await LiveClient(user=user).connect()
    bob = await LiveClient(user=other_user).connect()
    view = await alice.mount("t_counter")
    await bob.send({"type": "join", "id": view.id, "token": view.token, "v": 1})
    frame = await bob.receive()
    assert frame == {
        "type": "error",
        "id": view.id,
        "code": "token_invalid",
        "message": "Component token belongs to another session",
    }
    await alice.close()
    await bob.close()


async def test_expired_and_outdated_tokens_are_told_apart(settings: Any) -> None:
    from live import tokens

    async with LiveClient() as client:
        view = await client.mount("t_counter")
        settings.LIVE = {"TOKEN_MAX_AGE": -1}
        await client.send({"type": "join", "id": view.id, "token": view.token})
        assert (await client.receive())["code"] == "token_expired"
        settings.LIVE = {}
        old = tokens.TOKEN_FORMAT
        tokens.TOKEN_FORMAT = old + 1
        try:
            await client.send({"type": "join", "id": view.id, "token": view.token})
            assert (await client.receive())["code"] == "token_outdated"
        finally:
            tokens.TOKEN_FORMAT = old


async def test_reconnect_resumes_state_on_a_fresh_consumer() -> None:
    client = await LiveClient().connect()
    view = await client.mount("t_counter")
    for _ in range(3):
        await view.event("increment")
    await client.close()
    # A new socket (a new consumer instance) only has the token and the version.
    again = await LiveClient().connect()
    frame = await again.join(view)
    assert frame["type"] == "ack"
    assert frame["v"] == 4
    frame = await again.send_event(view.id, "increment", {})
    assert frame["v"] == 5
    assert view.html == "<p>count=4</p><p>tail</p>"
    await again.close()


async def test_rejoin_behind_gets_the_whole_html() -> None:
    client = await LiveClient().connect()
    view = await client.mount("t_counter")
    await view.event("increment")
    await client.close()
    again = await LiveClient().connect()
    frame = await again.join(view, version=1)
    assert frame["type"] == "full"
    assert frame["html"] == "<p>count=1</p><p>tail</p>"
    await again.close()


async def test_resent_event_is_applied_once() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_counter")
        envelope = {"type": "event", "id": view.id, "event": "increment", "payload": {}, "ref": 77}
        await client.send(envelope)
        first = await client.receive()
        await client.send(envelope)
        second = await client.receive()
        assert first["type"] == "diff"
        assert second == {"type": "ack", "id": view.id, "v": 2, "ref": 77}
        assert "count=1" in view


async def test_broadcast_reaches_subscribed_components_on_two_sockets() -> None:
    class Feed(live.Component):
        subscriptions = ["feed-{room}"]
        renderer = live.MockRenderer(
            lambda ctx: "<ul>" + "".join(f"<li>{item}</li>" for item in ctx["items"]) + "</ul>"
        )

        def mount(self) -> None:
            self.state = {"items": []}

        def on_posted(self, text: str) -> None:
            self.state["items"].append(text)

    live.register("t_feed")(Feed)
    try:
        one = await LiveClient().connect()
        two = await LiveClient().connect()
        a = await one.mount("t_feed", room="x")
        b = await two.mount("t_feed", room="x")
        other = await two.mount("t_feed", room="y")
        await live.broadcast("feed-x", "posted", text="hello")
        await one.wait_for(a, "<li>hello</li>")
        await two.wait_for(b, "<li>hello</li>")
        assert other.html == "<ul></ul>"
        await one.close()
        await two.close()
    finally:
        registry.unregister("t_feed")


async def test_a_flood_of_frames_is_refused_without_harm(settings: Any) -> None:
    settings.LIVE = {"SOCKET_FRAMES_PER_SECOND": 5}
    async with LiveClient() as client:
        view = await client.mount("t_counter")
        for _ in range(30):
            await client.send({"type": "join", "id": "x", "token": "forged"})
        codes = [(await client.receive())["code"] for _ in range(30)]
        assert "rate_limited" in codes
        assert codes.count("token_invalid") <= 10
        await asyncio.sleep(1)
        assert (await view.event("increment"))["type"] == "diff"


async def test_an_event_refused_by_the_frame_budget_is_answered_with_its_ref(
    settings: Any,
) -> None:
    settings.LIVE = {"SOCKET_FRAMES_PER_SECOND": 1}
    async with LiveClient() as client:
        view = await client.mount("t_counter")  # the join spends one of 2
        refs = list(range(100, 106))
        for ref in refs:
            await client.send(
                {"type": "event", "id": view.id, "event": "increment", "payload": {}, "ref": ref}
            )
        answers = [await client.receive() for _ in refs]
        assert [a["ref"] for a in answers] == refs
        assert [a["type"] for a in answers] == ["diff"] + ["error"] * 5
        assert {(a["code"], a["id"], a["retry_after"]) for a in answers[1:]} == {
            ("rate_limited", view.id, 1)
        }
        assert "count=1" in view


class Inline(live.Component):
    run_in_thread = False
    renderer = live.MockRenderer(lambda ctx: f"<p>{ctx['thread']}</p><p>{ctx['n']}</p>")

    def mount(self) -> None:
        self.state = {"thread": "", "n": 0}

    def on_where(self) -> None:
        import threading

        self.state["thread"] = threading.current_thread().name

    def on_query(self) -> None:
        from django.contrib.auth import get_user_model

        self.state["n"] = 99
        self.state["n"] = get_user_model().objects.count()


async def test_components_can_run_in_the_event_loop() -> None:
    import threading

    live.register("t_inline")(Inline)
    try:
        async with LiveClient() as client:
            view = await client.mount("t_inline")
            await view.event("where")
            assert f"<p>{threading.current_thread().name}</p>" in view
            # The ORM refuses to run in the loop: a clean error, and nothing changes.
            frame = await view.event("query")
            assert (frame["code"], frame["message"]) == ("server_error", "Internal error")
            assert "<p>0</p>" in view
    finally:
        registry.unregister("t_inline")


async def test_broadcast_only_handlers_cannot_be_sent_by_clients() -> None:
    class Feed(live.Component):
        subscriptions = ["t-only"]
        renderer = live.MockRenderer(lambda ctx: "<ul>" + "<li>x</li>" * ctx["n"] + "</ul>")

        def mount(self) -> None:
            self.state = {"n": 0}

        @live.broadcast_only
        def on_posted(self) -> None:
            self.state["n"] += 1

        def on_clear(self) -> None:
            self.state["n"] = 0

    live.register("t_only")(Feed)
    try:
        async with LiveClient() as client:
            view = await client.mount("t_only")
            frame = await view.event("posted")
            assert frame["message"] == (
                "Unknown event 'posted' for component 't_only'. Available events: clear."
            )
            await live.broadcast("t-only", "posted")
            await client.wait_for(view, "<li>x</li>")
    finally:
        registry.unregister("t_only")
