"""The component model in the pure-Python style, with no transport."""

from __future__ import annotations

from typing import Any

import pytest

import live
from live import registry
from live.testing import ComponentTestCase, make_component


class Todo(live.Component):
    renderer = live.MockRenderer()
    slots = ["footer"]

    def mount(self) -> None:
        self.state = {"items": [], "done": 0}

    def hydrate(self) -> None:
        self.hydrated = True

    def on_add(self, text: str, priority: int = 0) -> None:
        self.state["items"].append([text, priority])

    async def on_finish(self, count: int) -> None:
        self.state["done"] += count


class TestTodo(ComponentTestCase):
    def test_mount_and_sync_handler(self) -> None:
        todo = self.make_component(Todo)
        todo.handle_event("add", {"text": "milk", "priority": "2"})
        assert todo.state["items"] == [["milk", 2]]

    def test_async_handler_is_awaited(self) -> None:
        todo = self.make_component(Todo)
        todo.handle_event("finish", {"count": "3"})
        assert todo.state["done"] == 3

    def test_hydrate_instead_of_mount(self) -> None:
        todo = self.make_component(Todo, state={"items": [], "done": 1})
        assert todo.hydrated
        assert todo.state["done"] == 1

    def test_dispatch_renders(self) -> None:
        todo = self.make_component(Todo)
        assert todo.dispatch() == {
            "html": "<div>done=0 items=[]</div>",
            "state": {"items": [], "done": 0},
        }


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        pytest.param({}, {"text": "Field required"}, id="missing"),
        pytest.param(
            {"text": "a", "priority": "high"},
            {"priority": "Input should be a valid integer, unable to parse string as an integer"},
            id="wrong-type",
        ),
        pytest.param(
            {"text": "a", "colour": "red"}, {"colour": "Unexpected argument"}, id="unknown"
        ),
    ],
)
def test_bad_arguments_change_nothing(payload: dict[str, Any], fields: dict[str, str]) -> None:
    todo = make_component(Todo)
    with pytest.raises(live.InvalidArguments) as info:
        todo.handle_event("add", payload)
    assert info.value.fields == fields
    assert todo.state["items"] == []


def test_only_public_on_handlers_are_events() -> None:
    todo = make_component(Todo)
    assert Todo.event_names() == ["add", "finish"]
    for name in ("_add", "mount", "__class__", "render", "ADD", "add;x", 3, None):
        with pytest.raises(live.UnknownEvent):
            todo.handle_event(name, {})  # type: ignore[arg-type]


def test_slots() -> None:
    todo = make_component(Todo)
    todo.fill_slot("footer", "<i>f</i>")
    assert todo.render_slots() == {"footer": "<i>f</i>"}
    with pytest.raises(ValueError, match=r"Todo has no slot 'header'\. Declared slots: footer\."):
        todo.fill_slot("header", "x")


def test_registry_errors_name_the_registered_components_only_under_debug(settings: Any) -> None:
    live.register("t_todo")(Todo)
    try:
        with pytest.raises(live.ComponentNotFound) as info:
            registry.get("t_tod")
        assert info.value.message == "Unknown component 't_tod'."
        settings.DEBUG = True
        with pytest.raises(live.ComponentNotFound) as info:
            registry.get("t_tod")
        known = ", ".join(registry.names())
        assert info.value.message == f"Unknown component 't_tod'. Registered components: {known}."
        assert "t_todo" in info.value.message
        assert registry.get("t_todo") is Todo
        with pytest.raises(ValueError, match="already registered"):
            live.register("t_todo")(type("Other", (live.Component,), {}))
    finally:
        registry.unregister("t_todo")
    with pytest.raises(ValueError, match="Invalid component name 'Bad Name'"):
        live.register("Bad Name")


def test_autodiscovery_registered_the_tour_components() -> None:
    assert {"counter", "people"} <= set(registry.names())


def test_subscriptions_are_formatted_and_checked() -> None:
    class Room(live.Component):
        subscriptions = ["room-{room}"]

    assert Room(params={"room": 5}).get_subscriptions() == ["room-5"]
    with pytest.raises(ValueError, match="Invalid group name 'room-a b'"):
        Room(params={"room": "a b"}).get_subscriptions()


def test_template_renderer_needs_a_template_name() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="Bare has no template_name"):
        type("Bare", (live.Component,), {})().render()
