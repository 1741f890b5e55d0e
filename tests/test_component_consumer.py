"""ComponentConsumer: one component per socket, the seeds' subclass API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

import live
from live import registry

pytestmark = pytest.mark.django_db(transaction=True)


class Log(live.Component):
    renderer = live.MockRenderer(
        lambda ctx: (
            '<h2 class="audit-log-title">Audit log</h2>'
            + "".join(f"<i>{e}</i>" for e in ctx["entries"])
        )
    )

    def mount(self) -> None:
        self.state = {"entries": [self.params.get("start", "begin")]}

    def on_note(self, text: str) -> None:
        self.state["entries"].append(text)


class AuditConsumer(live.ComponentConsumer):
    component_name = "t_log"
    connected_hooks: list[str] = []

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.connected_hooks.append("connect")
        await super().websocket_connect(message)
        await self.channel_layer.group_add("t-audit", self.channel_name)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self.channel_layer.group_discard("t-audit", self.channel_name)
        await super().websocket_disconnect(message)

    async def audit_entry(self, event: dict[str, Any]) -> None:
        await self.dispatch_event(event="note", payload={"text": event["text"]})


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_log")(Log)
    yield
    registry.unregister("t_log")


def app() -> Any:
    return URLRouter([path("ws/log/<str:start>/", AuditConsumer.as_asgi())])


async def test_mounts_at_connect_and_takes_short_event_frames() -> None:
    communicator = WebsocketCommunicator(app(), "/ws/log/hello/")
    assert (await communicator.connect())[0]
    first = json.loads(await communicator.receive_from())
    assert (first["type"], first["html"]) == (
        "full",
        '<h2 class="audit-log-title">Audit log</h2><i>hello</i>',
    )
    await communicator.send_to(text_data=json.dumps({"event": "note", "payload": {"text": "x"}}))
    frame = json.loads(await communicator.receive_from())
    assert frame["type"] == "diff"
    assert AuditConsumer.connected_hooks == ["connect"]
    await communicator.disconnect()


async def test_custom_group_handler_and_unknown_message_types() -> None:
    communicator = WebsocketCommunicator(app(), "/ws/log/a/")
    await communicator.connect()
    await communicator.receive_from()
    layer = get_channel_layer()
    # A message type without a handler is logged, not fatal.
    await layer.group_send("t-audit", {"type": "no.such.handler"})
    await layer.group_send("t-audit", {"type": "audit.entry", "text": "deleted user 3"})
    frame = json.loads(await communicator.receive_from())
    assert frame["type"] == "diff"
    assert "deleted user 3" in frame["ops"][0][2]
    await communicator.disconnect()


async def test_mount_failure_is_an_error_frame_and_a_4xxx_close() -> None:
    class Locked(AuditConsumer):
        component_name = "t_locked"

    class LockedLog(Log):
        permission_classes = (live.IsAuthenticated,)

    live.register("t_locked")(LockedLog)
    try:
        communicator = WebsocketCommunicator(URLRouter([path("ws/l/", Locked.as_asgi())]), "/ws/l/")
        await communicator.connect()
        frame = json.loads(await communicator.receive_from())
        assert frame == {
            "type": "error",
            "code": "unauthenticated",
            "message": "Authentication required",
        }
        assert (await communicator.receive_output())["code"] == 4401
        await communicator.disconnect()
    finally:
        registry.unregister("t_locked")
