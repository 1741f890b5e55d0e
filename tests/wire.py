"""A browser tab over a real socket: cookies from HTTP pages, frames merged as live.js does.

Used by the tests that run real daphne processes (several workers, killed workers,
a restarted Redis, a client that stops reading).
"""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from live import diff, protocol

ROOT = re.compile(r'data-live-id="(lv\w+)" data-live-name="(\w+)" data-live-token="([^"]+)"')

Frame = dict[str, Any]


@dataclass
class Root:
    """One component root as the page gave it, and the client's copy of its HTML."""

    id: str
    name: str
    token: str
    html: str | None = None
    version: int | None = None
    frames: list[Frame] = field(default_factory=list)
    #: The HTML after each frame that changed it, oldest first.
    history: list[str] = field(default_factory=list)

    def apply(self, frame: Frame) -> bool:
        """Merge one frame; return False on a version gap (the caller resyncs)."""
        self.frames.append(frame)
        kind = frame.get(protocol.KEY_TYPE)
        if kind == protocol.FULL:
            self.html, self.version = frame[protocol.KEY_HTML], frame[protocol.KEY_VERSION]
        elif kind == protocol.DIFF:
            if self.html is None or frame[protocol.KEY_VERSION] != (self.version or 0) + 1:
                return False
            self.html = diff.apply(self.html, frame[protocol.KEY_OPS])
            self.version = frame[protocol.KEY_VERSION]
        elif kind == protocol.ACK and frame[protocol.KEY_VERSION] != self.version:
            return False
        self.token = frame.get(protocol.KEY_TOKEN, self.token)
        if kind in (protocol.FULL, protocol.DIFF) and self.html is not None:
            self.history.append(self.html)
        return True


class Session:
    """One browser profile: a cookie jar shared by its tabs, on any worker."""

    def __init__(self, session_key: str | None = None) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.session_key = session_key

    def cookie_header(self) -> str:
        """Return the Cookie header the browser would send."""
        cookies = {c.name: c.value for c in self.jar}
        if self.session_key:
            cookies[settings.SESSION_COOKIE_NAME] = self.session_key
        return "; ".join(f"{name}={value}" for name, value in cookies.items())

    def get(self, url: str) -> str:
        """GET ``url`` with this profile's cookies; return the body."""
        request = urllib.request.Request(url, headers={"Cookie": self.cookie_header()})
        with self.opener.open(request, timeout=10) as response:
            return str(response.read().decode())

    def post(self, url: str, form: dict[str, Any]) -> tuple[int, str]:
        """POST a form with the CSRF cookie and header; return the status and body."""
        from urllib.parse import urlencode

        csrf = {c.name: c.value for c in self.jar}.get(settings.CSRF_COOKIE_NAME, "")
        request = urllib.request.Request(
            url,
            data=urlencode({**form, "csrfmiddlewaretoken": csrf}, doseq=True).encode(),
            headers={"Cookie": self.cookie_header(), "X-CSRFToken": csrf, "Referer": url},
        )
        with self.opener.open(request, timeout=10) as response:
            return int(response.status), str(response.read().decode())

    def tab(self, url: str) -> Tab:
        """Open the page at ``url`` in a new tab (not yet connected)."""
        html = self.get(url)
        roots = {name: Root(cid, name, token) for cid, name, token in ROOT.findall(html)}
        return Tab(self, html, roots)


class Tab:
    """One page: its component roots and (at most) one socket to some worker."""

    refs = itertools.count(int(time.time() * 1_000_000))

    def __init__(self, session: Session, html: str, roots: dict[str, Root]) -> None:
        self.session = session
        self.page = html
        self.roots = roots
        self.socket: Any = None
        #: Events sent and not answered yet, by ref: resent after a reconnect.
        self.unanswered: dict[int, Frame] = {}

    def root(self, name: str) -> Root:
        """Return the root of component ``name``."""
        return self.roots[name]

    def connect(self, server_url: str, **kwargs: Any) -> Tab:
        """Open the socket to the worker at ``server_url``."""
        from websockets.sync.client import connect

        connection = connect(
            server_url.replace("http://", "ws://") + "/ws/live/",
            additional_headers={"Cookie": self.session.cookie_header(), "Origin": server_url},
            open_timeout=10,
            close_timeout=1,
            **kwargs,
        )
        self.socket = connection.__enter__()
        return self

    def drop(self) -> None:
        """Forget a socket whose server is gone (nothing is left to say goodbye to)."""
        if self.socket is not None:
            self.socket.socket.close()
            self.socket = None

    def close(self) -> None:
        """Close the socket, as a closing tab does."""
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def send(self, frame: Frame) -> None:
        """Send one frame."""
        self.socket.send(json.dumps(frame))

    def receive(self, timeout: float = 10) -> Frame:
        """Receive one frame and merge it into its root (resyncing on a gap)."""
        frame: Frame = json.loads(self.socket.recv(timeout=timeout))
        ref = frame.get(protocol.KEY_REF)
        if ref is not None:
            self.unanswered.pop(ref, None)
        root = next((r for r in self.roots.values() if r.id == frame.get(protocol.KEY_ID)), None)
        if root is not None and not root.apply(frame):
            self.send({"type": protocol.RESYNC, "id": root.id})
        return frame

    def receive_until(self, predicate: Any, timeout: float = 10) -> Frame:
        """Receive frames until one matches ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame arrived")
            frame = self.receive(timeout=remaining)
            if predicate(frame):
                return frame

    def join(self, name: str) -> Frame:
        """Join (or rejoin) ``name`` with the version this tab holds; return the answer."""
        root = self.roots[name]
        self.send({"type": protocol.JOIN, "id": root.id, "token": root.token, "v": root.version})
        return self.receive_until(lambda f: f.get(protocol.KEY_ID) == root.id and "ref" not in f)

    def queue_event(self, name: str, event: str, **payload: Any) -> int:
        """Record an event as the user made it, to be sent once a socket is open; return its ref."""
        ref = next(self.refs)
        self.unanswered[ref] = {
            "type": protocol.EVENT,
            "id": self.roots[name].id,
            "event": event,
            "payload": payload,
            "ref": ref,
        }
        return ref

    def send_event(self, name: str, event: str, **payload: Any) -> int:
        """Send an event without waiting; return its ref."""
        ref = self.queue_event(name, event, **payload)
        self.send(self.unanswered[ref])
        return ref

    def event(self, name: str, event: str, **payload: Any) -> Frame:
        """Send an event and return its answer (merged)."""
        ref = self.send_event(name, event, **payload)
        return self.receive_until(lambda f: f.get(protocol.KEY_REF) == ref)

    def resend(self) -> list[Frame]:
        """Send every unanswered event again with its original ref; return the answers."""
        refs = sorted(self.unanswered)
        for ref in refs:
            self.send(self.unanswered[ref])
        answers = []
        for ref in refs:
            answers.append(self.receive_until(lambda f, ref=ref: f.get(protocol.KEY_REF) == ref))
        return answers

    def wait_for(self, name: str, text: str, timeout: float = 10) -> None:
        """Receive frames until ``text`` shows in component ``name``."""
        root = self.roots[name]
        if root.html is not None and text in root.html:
            return
        self.receive_until(lambda f: root.html is not None and text in root.html, timeout)
