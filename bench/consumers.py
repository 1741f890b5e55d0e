"""The two baselines ``live`` is measured against, on the same server.

``EchoConsumer`` is the practical limit of Channels: it sends back what it
gets. ``NaiveConsumer`` is what a project writes without ``live``: the state
sits on the consumer, each event is applied and the whole template is
rendered again (in the event loop, as the data is in memory) and sent as
``{"html": ...}``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.template.loader import render_to_string

from bench import users
from bench.components import COUNTER_TEMPLATE, TABLE_TEMPLATE, TICKER_TEMPLATE

#: Groups of the baselines' fan-out; ``bench.views.fanout`` sends to them.
ECHO_GROUP = "bench-echo"
NAIVE_GROUP = "bench-naive"
#: Channel-layer message type of a baseline fan-out; handled by ``bench_tick``.
TICK_TYPE = "bench.tick"


class EchoConsumer(AsyncWebsocketConsumer):
    """Send every frame straight back."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame; echo it."""
        await self.send(text_data=text_data, bytes_data=bytes_data)


class EchoGroupConsumer(EchoConsumer):
    """An echo socket that also forwards each fan-out message as a small frame."""

    groups: ClassVar[list[str]] = [ECHO_GROUP]  # type: ignore[misc]

    async def bench_tick(self, message: dict[str, Any]) -> None:
        """Called for each fan-out message."""
        await self.send(text_data=json.dumps({"n": message["n"]}))


class NaiveWidget:
    """State and event handlers of one naive widget; ``context()`` feeds its template."""

    template_name: ClassVar[str] = ""
    group: ClassVar[str | None] = None

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def context(self) -> dict[str, Any]:
        """Return the whole template context."""
        return dict(self.state)


class NaiveCounter(NaiveWidget):
    """The counter, naive."""

    template_name = COUNTER_TEMPLATE

    def __init__(self) -> None:
        self.state = {"count": 0}

    def on_increment(self) -> None:
        """Add one."""
        self.state["count"] += 1

    def on_decrement(self) -> None:
        """Subtract one."""
        self.state["count"] -= 1


class NaiveTable(NaiveWidget):
    """The user table, naive."""

    template_name = TABLE_TEMPLATE

    def __init__(self) -> None:
        self.state = {"query": "", "page": 1}

    def on_toggle_status(self, user_id: Any) -> None:
        """Flip one user's active flag."""
        users.toggle(int(user_id))

    def on_search(self, query: str = "") -> None:
        """Filter by username or email and go back to page one."""
        self.state.update(query=str(query)[:100], page=1)

    def on_page(self, page: Any) -> None:
        """Go to ``page``."""
        self.state["page"] = int(page)

    def context(self) -> dict[str, Any]:
        """Return the page of rows for the current search."""
        return users.table_context(self.state["query"], self.state["page"])


class NaiveTicker(NaiveWidget):
    """The fan-out ticker, naive."""

    template_name = TICKER_TEMPLATE
    group = NAIVE_GROUP

    def __init__(self) -> None:
        self.state = {"n": 0}

    def on_tick(self, n: Any) -> None:
        """Called for each fan-out message."""
        self.state["n"] = int(n)


WIDGETS: dict[str, type[NaiveWidget]] = {
    "counter": NaiveCounter,
    "table": NaiveTable,
    "ticker": NaiveTicker,
}


class NaiveConsumer(AsyncJsonWebsocketConsumer):
    """Keep one widget's state, apply each event, send the whole re-rendered HTML."""

    widget: NaiveWidget | None = None

    async def connect(self) -> None:
        """Called when the socket opens; create the widget and send its first render."""
        await self.accept()
        widget_cls = WIDGETS.get(self.scope["url_route"]["kwargs"]["name"])
        if widget_cls is None:
            await self.close(code=4404)
            return
        self.widget = widget_cls()
        if self.widget.group:
            await self.channel_layer.group_add(self.widget.group, self.channel_name)
        await self.send_html()

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes; leave the widget's group."""
        if self.widget is not None and self.widget.group:
            await self.channel_layer.group_discard(self.widget.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each ``{"event", "payload"}`` frame."""
        handler = getattr(self.widget, f"on_{content.get('event')}", None)
        if handler is None:
            await self.send_json({"error": "unknown event"})
            return
        handler(**(content.get("payload") or {}))
        await self.send_html()

    async def bench_tick(self, message: dict[str, Any]) -> None:
        """Called for each fan-out message."""
        if self.widget is not None:
            self.widget.on_tick(message["n"])  # type: ignore[attr-defined]
            await self.send_html()

    async def send_html(self) -> None:
        """Render the whole template and send it."""
        assert self.widget is not None
        html = render_to_string(self.widget.template_name, self.widget.context())
        await self.send_json({"html": html})
