"""Test helpers: pure-Python component tests and a real-protocol socket client.

``make_component`` runs a component without any transport. ``LiveClient``
speaks the wire protocol to the real consumer through Channels'
``WebsocketCommunicator`` and merges diffs the way ``live.js`` does, so a test
reads like a user: mount, click, assert on the HTML.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from http.cookies import SimpleCookie
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from live import diff, protocol, registry, tokens
from live.component import Component, run
from live.mounted import Mounted
from live.renderers import MockRenderer
from live.types import Frame

__all__ = ["ComponentTestCase", "LiveClient", "LiveView", "MockRenderer", "make_component"]


def make_component(
    cls: type[Component], *, user: Any = None, state: dict[str, Any] | None = None, **params: Any
) -> Component:
    """Return an instance of ``cls``: mounted, or hydrated from ``state`` when given."""
    component = cls(params=params, user=user)
    if state is None:
        run(component.mount())
    else:
        component.state = dict(state)
        run(component.hydrate())
    return component


class ComponentTestCase:
    """Mixin for test classes in the pure-Python style: ``self.make_component(cls, **params)``."""

    def make_component(
        self,
        cls: type[Component],
        *,
        user: Any = None,
        state: dict[str, Any] | None = None,
        **params: Any,
    ) -> Component:
        """Return a mounted (or hydrated) instance of ``cls``."""
        return make_component(cls, user=user, state=state, **params)


def session_cookie_for(user: Any) -> tuple[str, str]:
    """Log ``user`` in through Django's test client; return ``(cookie header, session key)``."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = SimpleCookie()
    cookie[settings.SESSION_COOKIE_NAME] = session_key
    return cookie.output(header="", sep=";").strip(), session_key


class LiveView:
    """The client-side copy of one joined component: its HTML string, version and token."""

    def __init__(self, client: LiveClient, component_id: str, token: str, html: str, version: int):
        self.client = client
        self.id = component_id
        self.token = token
        self.html = html
        self.version = version
        self.errors: list[Frame] = []
        self.frames: list[Frame] = []

    async def event(self, name: str, /, **payload: Any) -> Frame:
        """Send event ``name`` and return the frame that answers it (after merging it)."""
        return await self.client.send_event(self.id, name, payload)

    async def resync(self) -> Frame:
        """Ask for the whole HTML again."""
        await self.client.send({"type": protocol.RESYNC, "id": self.id})
        return await self.client.receive_until(lambda f: f.get("id") == self.id)

    def apply(self, frame: Frame) -> bool:
        """Merge one server frame the way the browser does; return False on a version gap."""
        self.frames.append(frame)
        kind = frame.get(protocol.KEY_TYPE)
        if kind == protocol.FULL:
            self.html = frame[protocol.KEY_HTML]
            self.version = frame[protocol.KEY_VERSION]
            self.token = frame.get(protocol.KEY_TOKEN, self.token)
        elif kind == protocol.DIFF:
            if frame[protocol.KEY_VERSION] != self.version + 1:
                return False
            self.html = diff.apply(self.html, frame[protocol.KEY_OPS])
            self.version = frame[protocol.KEY_VERSION]
        elif kind == protocol.ACK:
            self.token = frame.get(protocol.KEY_TOKEN, self.token)
        elif kind == protocol.ERROR:
            self.errors.append(frame)
        return True

    def __contains__(self, text: str) -> bool:
        return text in self.html


class LiveClient:
    """A browser stand-in: one socket to the real ASGI application, many components on it."""

    _refs = itertools.count(1)

    def __init__(
        self,
        application: Any = None,
        *,
        user: Any = None,
        path: str = "/ws/live/",
        origin: str = "http://testserver",
        timeout: float = 3.0,
    ) -> None:
        if application is None:
            from asgi import application as site_application

            application = site_application
        self.application = application
        self.user = user
        self.path = path
        self.origin = origin
        self.timeout = timeout
        self.views: dict[str, LiveView] = {}
        self.session_key: str | None = None
        self.cookie: str | None = None
        self.communicator: WebsocketCommunicator | None = None
        self.connected = False

    async def connect(self) -> LiveClient:
        """Open the socket (logging the user in through a real session cookie)."""
        headers = [(b"origin", self.origin.encode()), (b"host", b"testserver")]
        if self.user is not None and self.cookie is None:
            self.cookie, self.session_key = await database_sync_to_async(session_cookie_for)(
                self.user
            )
        if self.cookie:
            headers.append((b"cookie", self.cookie.encode()))
        self.communicator = WebsocketCommunicator(self.application, self.path, headers=headers)
        self.connected, _ = await self.communicator.connect(timeout=self.timeout)
        if not self.connected:
            raise ConnectionError("The live socket refused the connection")
        return self

    async def close(self) -> None:
        """Close the socket; views keep their HTML and version for a rejoin."""
        if self.communicator is not None and self.connected:
            await self.communicator.disconnect()
        self.connected = False

    async def __aenter__(self) -> LiveClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def binding(self) -> str:
        """Return the token binding this client's socket has."""
        pk = getattr(self.user, "pk", None) if self.user is not None else None
        return tokens.binding(pk, self.session_key)

    async def render(self, name: str, **params: Any) -> tuple[str, str, int, str]:
        """Render ``name`` as a page would; return ``(id, token, version, inner html)``."""
        component_cls = registry.get(name)
        user, bound_to = self.user, self.binding()
        mounted = await database_sync_to_async(
            lambda: Mounted.mount(component_cls, params=params, user=user, bound_to=bound_to)
        )()
        return mounted.component_id, mounted.token(), mounted.version, mounted.html

    async def mount(self, name: str, **params: Any) -> LiveView:
        """Render ``name`` like a page, then join it over the socket; return its view."""
        component_id, token, version, html = await self.render(name, **params)
        view = LiveView(self, component_id, token, html, version)
        self.views[component_id] = view
        frame = await self.join(view)
        if frame.get(protocol.KEY_TYPE) == protocol.ERROR:
            raise AssertionError(f"join failed: {frame}")
        return view

    async def join(self, view: LiveView, version: int | None = None) -> Frame:
        """Join (or rejoin) ``view`` with its token and return the answer."""
        self.views[view.id] = view
        await self.send(
            {
                "type": protocol.JOIN,
                "id": view.id,
                "token": view.token,
                "v": view.version if version is None else version,
            }
        )
        return await self.receive_until(lambda f: f.get("id") == view.id)

    async def send(self, frame: Frame | str) -> None:
        """Send a frame (a dict, or raw text for malformed-input tests)."""
        assert self.communicator is not None
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.communicator.send_to(text_data=text)

    async def send_event(self, component_id: str, name: str, payload: dict[str, Any]) -> Frame:
        """Send an event with a fresh ref and wait for its answer."""
        ref = next(self._refs)
        await self.send(
            {
                "type": protocol.EVENT,
                "id": component_id,
                "event": name,
                "payload": payload,
                "ref": ref,
            }
        )
        return await self.receive_until(lambda f: f.get("ref") == ref)

    async def receive(self, timeout: float | None = None) -> Frame:
        """Receive the next frame and merge it into its view (resyncing on a version gap)."""
        assert self.communicator is not None
        text = await self.communicator.receive_from(timeout=timeout or self.timeout)
        frame: Frame = json.loads(text)
        view = self.views.get(frame.get(protocol.KEY_ID, ""))
        if view is not None and not view.apply(frame):
            await self.send({"type": protocol.RESYNC, "id": view.id})
        return frame

    async def receive_until(self, predicate: Any, timeout: float | None = None) -> Frame:
        """Receive (and merge) frames until one matches ``predicate``; return it."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.timeout)
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("No matching frame arrived")
            frame = await self.receive(timeout=remaining)
            if predicate(frame):
                return frame

    async def wait_for(self, view: LiveView, text: str, timeout: float | None = None) -> None:
        """Receive frames until ``text`` appears in ``view``'s HTML."""
        if text in view.html:
            return
        await self.receive_until(lambda f: text in view.html, timeout=timeout)

    async def nothing_received(self, timeout: float = 0.2) -> bool:
        """Return whether no frame arrives within ``timeout`` seconds."""
        assert self.communicator is not None
        return bool(await self.communicator.receive_nothing(timeout=timeout))
