"""The ``Component`` base class: server-side state, event handlers, a template."""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from live import arguments, permissions
from live.exceptions import UnknownEvent
from live.renderers import Renderer, TemplateRenderer
from live.types import Params, State

#: What an event name may be: the ``<event>`` of a public ``on_<event>`` handler.
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: What a group name may be, by Channels' rules.
GROUP_NAME = re.compile(r"^[a-zA-Z0-9\-_.]{1,99}$")


def new_component_id() -> str:
    """Return a fresh, DOM-safe, unguessable component id."""
    return "lv" + secrets.token_hex(8)


def short_repr(value: object, limit: int = 60) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def _await(awaitable: Any) -> Any:
    return await awaitable


def run(result: Any) -> Any:
    """Return ``result``, awaiting it first if a lifecycle method was ``async def``."""
    if inspect.isawaitable(result):
        return async_to_sync(_await)(result)
    return result


def broadcast_only(handler: Any) -> Any:
    """Mark an ``on_<event>`` handler as reachable from broadcasts only, never from a client."""
    handler.live_broadcast_only = True
    return handler


class Component:
    """A piece of UI whose state lives on the server.

    Subclass it, set ``template_name``, initialise ``state`` in ``mount()`` and
    write ``on_<event>`` methods; register it with ``@live.register("name")``.
    """

    #: Registered name; set by ``live.register``.
    name: ClassVar[str] = ""
    #: Template rendered by the default renderer with ``get_context_data()``.
    template_name: ClassVar[str | None] = None
    #: What turns the context into HTML.
    renderer: ClassVar[Renderer] = TemplateRenderer()
    #: Checked at mount, at join and before every event.
    permission_classes: ClassVar[Sequence[Any]] = ()
    #: Channel-layer groups to follow; ``str.format``-ed with ``params``.
    subscriptions: ClassVar[Sequence[str]] = ()
    #: Names of the slots other components or HTML can fill.
    slots: ClassVar[Sequence[str]] = ()
    #: Params a client may set in the query string of the HTTP endpoint's GET (none by
    #: default): anything else a client sends there is ignored, since params end up signed.
    url_params: ClassVar[Sequence[str]] = ()
    #: Rates per event, e.g. ``{"add_to_cart": "5/second"}``; ``"*"`` applies to every event.
    rate_limits: ClassVar[Mapping[str, str]] = {}
    #: One budget per client for every first render, reload and event of this component
    #: (e.g. ``"30/minute"``), shared by pages, every HTTP endpoint and the socket.
    throttle_rate: ClassVar[str | None] = None
    #: Run this component's code on a worker thread (the default: the ORM and blocking
    #: calls are safe). ``False`` runs it in the event loop, which is faster, for
    #: components that never query the database or block; their handlers must be sync.
    run_in_thread: ClassVar[bool] = True
    #: Tag of the root element that carries the id and the token.
    root_tag: ClassVar[str] = "div"

    def __init__(
        self,
        *,
        params: Params | None = None,
        state: State | None = None,
        component_id: str | None = None,
        user: Any = None,
        request: Any = None,
    ) -> None:
        self.params: Params = dict(params or {})
        self.state: State = dict(state or {})
        self.errors: dict[str, str] = {}
        self.component_id = component_id or new_component_id()
        if user is None:
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
        self.user = user
        self.request = request
        #: The client's IP address as the server saw it (the socket's peer or the request's
        #: ``REMOTE_ADDR``); behind a proxy, run daphne with ``--proxy-headers``.
        self.client_address: str | None = (
            request.META.get("REMOTE_ADDR") if hasattr(request, "META") else None
        )
        self.filled_slots: dict[str, Any] = {}
        #: Whether ``mount()`` already ran (``compose`` mounts eagerly).
        self.is_mounted = False

    # Lifecycle ---------------------------------------------------------------

    def mount(self) -> Any:
        """Called once, when the component is first rendered; set up ``state``."""

    def hydrate(self) -> Any:
        """Called when the component is restored from a state snapshot."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Return the template context: the state's keys, ``component``, ``params``, ``errors``."""
        context: dict[str, Any] = dict(self.state)
        context.update(
            component=self,
            state=self.state,
            params=self.params,
            errors=self.errors,
            slots=self.render_slots(),
        )
        context.update(kwargs)
        return context

    def render(self) -> str:
        """Return the component's inner HTML."""
        return self.renderer.render(self, self.get_context_data())

    def dispatch(self) -> dict[str, Any]:
        """Render (with slotted children) and return ``{"html": ..., "state": ...}``."""
        return {"html": self.render(), "state": self.state}

    # Permissions and subscriptions ---------------------------------------------

    def check_permissions(self) -> None:
        """Raise ``NotAuthenticated`` or ``Forbidden`` if the user may not use this component."""
        permissions.check_all(self.permission_classes, self.user, self)

    def get_subscriptions(self) -> list[str]:
        """Return the channel-layer groups this component follows."""
        groups = []
        for template in self.subscriptions:
            group = template.format(**self.params)
            if not GROUP_NAME.match(group):
                raise ValueError(
                    f"Invalid group name {group!r} in {type(self).__qualname__}.subscriptions: "
                    "use letters, digits, '-', '_' and '.', fewer than 100 characters."
                )
            groups.append(group)
        return groups

    def load_from_cache(self) -> tuple[State, str, dict[str, list[Any]]] | None:
        """Return a cached ``(state, html, positions)`` first render; ``CacheMixin`` has one."""
        return None

    def store_in_cache(self, state: State, html: str, seqs: dict[str, list[Any]]) -> None:
        """Store a first render; a no-op unless ``CacheMixin`` is used."""

    def get_optimistic_patch(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return a DOM patch to apply the instant the user fires ``event`` (see ``optimistic``)."""
        return None

    def on_missed_broadcasts(self, group: str) -> Any:
        """Called when broadcasts to ``group`` were lost for good; mounts again by default."""
        return self.mount()

    # Events ------------------------------------------------------------------

    @classmethod
    def event_names(cls) -> list[str]:
        """Return the events this component handles (its public ``on_<event>`` methods)."""
        return sorted(
            attribute[3:]
            for attribute in dir(cls)
            if attribute.startswith("on_")
            and EVENT_NAME.match(attribute[3:])
            and callable(getattr(cls, attribute))
            and attribute != "on_missed_broadcasts"
            and not getattr(getattr(cls, attribute), "live_broadcast_only", False)
        )

    def get_handler(self, event: object) -> Any:
        """Return the bound handler for ``event`` or raise ``UnknownEvent``."""
        if isinstance(event, str) and EVENT_NAME.match(event) and event != "missed_broadcasts":
            handler = getattr(self, f"on_{event}", None)
            if handler is not None and callable(handler):
                return handler
        raise self.unknown_event(event)

    def unknown_event(self, event: object) -> UnknownEvent:
        """Return the error for an event a client may not send, naming the ones it may."""
        available = ", ".join(self.event_names()) or "(none)"
        return UnknownEvent(
            f"Unknown event {short_repr(event)} for component {self.name!r}. "
            f"Available events: {available}."
        )

    def validate_event(
        self, event: object, payload: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Return the handler and its validated arguments, or raise; changes nothing."""
        handler = self.get_handler(event)
        return handler, arguments.validate(handler, str(event), payload)

    def handle_event(self, name: str, payload: Mapping[str, Any] | None = None) -> Any:
        """Validate ``payload`` and call ``on_<name>``; awaits ``async`` handlers."""
        handler, kwargs = self.validate_event(name, payload or {})
        return run(handler(**kwargs))

    async def ahandle_event(self, name: str, payload: Mapping[str, Any] | None = None) -> Any:
        """Async variant of ``handle_event``."""
        handler, kwargs = self.validate_event(name, payload or {})
        result = handler(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    # Slots -------------------------------------------------------------------

    def fill_slot(self, name: str, content: Any) -> None:
        """Fill slot ``name`` with a component or an HTML string."""
        if name not in self.slots:
            declared = ", ".join(self.slots) or "(none)"
            raise ValueError(
                f"{type(self).__qualname__} has no slot {name!r}. Declared slots: {declared}."
            )
        self.filled_slots[name] = content

    def render_slots(self) -> dict[str, SafeString]:
        """Return the HTML of every filled slot, by name (live children as empty roots)."""
        from live.composition import SLOTS_KEY, placeholder

        rendered = {name: placeholder(cid) for name, cid in self.state.get(SLOTS_KEY, {}).items()}
        for name, content in self.filled_slots.items():
            if name in rendered:
                continue
            if isinstance(content, Component):
                rendered[name] = mark_safe(content.render())  # noqa: S308
            else:
                rendered[name] = SafeString(content)
        return rendered

    def root_attrs(self, **extra: Any) -> SafeString:
        """Return the escaped attributes of the root element."""
        items = [("id", self.component_id), ("data-live-id", self.component_id)]
        items += [("data-live-name", self.name)]
        items += [
            (key.replace("_", "-"), value) for key, value in extra.items() if value is not None
        ]
        return format_html_join(" ", '{}="{}"', items)
