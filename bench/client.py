"""The load client: one asyncio process speaking HTTP/1.1 and each target's socket protocol.

``EchoSession``, ``NaiveSession`` and ``LiveSession`` share one interface
(``open``, ``exchange``, ``close``), so every phase drives the three targets
with the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from live.diff import apply as apply_ops

HOST = "127.0.0.1"


class HttpError(Exception):
    """An HTTP answer the harness did not expect."""


class Http:
    """A keep-alive HTTP/1.1 connection to the bench server; cookies live in a jar per call."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        jar: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request (``body`` as JSON); return ``(status, body)`` and update ``jar``."""
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        if jar:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in jar.items()))
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError(f"{method} {path}: connection closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "set-cookie" and jar is not None:
                cookie, _, _ = value.partition(";")
                key, _, val = cookie.partition("=")
                jar[key.strip()] = val.strip()
        payload = await self._read_chunked() if chunked else await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return b"".join(parts)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its JSON body; raise ``HttpError`` unless 200."""
        status, payload = await self.request(method, path, **kwargs)
        if status != 200:
            raise HttpError(f"{method} {path}: HTTP {status}: {payload[:300]!r}")
        return json.loads(payload)

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def open_socket(
    port: int, path: str, jar: dict[str, str] | None = None, extra: dict[str, str] | None = None
) -> ClientConnection:
    """Open a WebSocket to the bench server as a page on it would (same Origin, its cookies)."""
    headers = dict(extra or {})
    if jar:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    return await connect(
        f"ws://{HOST}:{port}{path}",
        origin=f"http://{HOST}:{port}",  # type: ignore[arg-type]
        additional_headers=headers or None,
        compression=None,
        ping_interval=None,
        max_size=2**22,
        open_timeout=30,
        close_timeout=5,
    )


def size(text: str | bytes) -> int:
    """Return the size of a frame's payload in bytes."""
    return len(text) if isinstance(text, bytes) else len(text.encode())


class Session:
    """One socket of one target; ``exchange`` sends an event and waits for its answer."""

    target = ""

    def __init__(self, port: int, widget: str) -> None:
        self.port = port
        self.widget = widget
        self.ws: ClientConnection | None = None

    async def open(self, http: Http | None = None) -> Session:
        """Connect (and join, for ``live``)."""
        raise NotImplementedError

    def frame(self, event: str, payload: dict[str, Any]) -> str:
        """Return the text frame carrying ``event``."""
        raise NotImplementedError

    async def exchange(self, event: str, payload: dict[str, Any]) -> tuple[float, int]:
        """Send ``event``; return the round trip in seconds and the answer's size in bytes."""
        assert self.ws is not None
        text = self.frame(event, payload)
        start = time.perf_counter()
        await self.ws.send(text)
        reply = await self.ws.recv()
        elapsed = time.perf_counter() - start
        return elapsed, size(reply)

    async def close(self) -> None:
        """Close the socket."""
        if self.ws is not None:
            await self.ws.close()
            self.ws = None


class EchoSession(Session):
    """The bare echo: the server sends each frame back as it is."""

    target = "echo"
    _refs = itertools.count(1)

    async def open(self, http: Http | None = None) -> EchoSession:
        """Connect to ``/ws/echo/`` (or ``/ws/echo-group/`` for the fan-out widget)."""
        path = "/ws/echo-group/" if self.widget == "ticker" else "/ws/echo/"
        self.ws = await open_socket(self.port, path)
        return self

    def frame(self, event: str, payload: dict[str, Any]) -> str:
        """Return the same frame ``live`` would get, so the echo carries as many bytes."""
        return json.dumps(
            {"type": "event", "id": "lv0123456789abcdef", "event": event, "payload": payload}
            | {"ref": next(self._refs)},
            separators=(",", ":"),
        )


class NaiveSession(Session):
    """The naive consumer: the first render at connect, then the whole HTML per event."""

    target = "naive"

    async def open(self, http: Http | None = None) -> NaiveSession:
        """Connect to ``/ws/naive/<widget>/`` and read the first render."""
        self.ws = await open_socket(self.port, f"/ws/naive/{self.widget}/")
        await self.ws.recv()
        return self

    def frame(self, event: str, payload: dict[str, Any]) -> str:
        """Return ``{"event", "payload"}``."""
        return json.dumps({"event": event, "payload": payload})


class LiveSession(Session):
    """A ``live`` component: mounted over HTTP like a page, joined over the socket.

    Answers are merged into ``html`` the way ``live.js`` does.
    """

    target = "live"

    def __init__(
        self,
        port: int,
        widget: str,
        jar: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(port, f"bench_{widget}")
        self.jar: dict[str, str] = {} if jar is None else jar
        # Sent with the first render and the socket (``X-Forwarded-For`` names a client).
        self.headers = dict(headers or {})
        self.id = ""
        self.token = ""
        self.version = 0
        self.html = ""
        self.ref = 0
        self.gaps = 0

    async def open(self, http: Http | None = None) -> LiveSession:
        """Render the component over HTTP (getting a session cookie), then join it."""
        own = http is None
        http = http or Http(self.port)
        try:
            mounted = await http.json(
                "GET", f"/bench/mount/{self.widget}/", jar=self.jar, headers=self.headers
            )
        finally:
            if own:
                await http.close()
        self.id, self.token = mounted["id"], mounted["token"]
        self.version, self.html = mounted["v"], mounted["html"]
        self.ws = await open_socket(self.port, "/ws/live/", self.jar, self.headers)
        await self.ws.send(
            json.dumps({"type": "join", "id": self.id, "token": self.token, "v": self.version})
        )
        answer = self.merge(await self.ws.recv())
        if answer.get("type") not in ("ack", "full"):
            raise RuntimeError(f"join of {self.widget} failed: {answer}")
        return self

    def frame(self, event: str, payload: dict[str, Any]) -> str:
        """Return an ``event`` frame with the next ref."""
        self.ref += 1
        return json.dumps(
            {"type": "event", "id": self.id, "event": event, "payload": payload, "ref": self.ref},
            separators=(",", ":"),
        )

    async def exchange(self, event: str, payload: dict[str, Any]) -> tuple[float, int]:
        """Send ``event``; wait for the frame with its ref (merging any push before it)."""
        assert self.ws is not None
        text = self.frame(event, payload)
        ref = self.ref
        start = time.perf_counter()
        await self.ws.send(text)
        while True:
            reply = await self.ws.recv()
            elapsed = time.perf_counter() - start
            frame = self.merge(reply)
            if frame.get("ref") == ref:
                if frame.get("type") == "error":
                    raise RuntimeError(f"{event} failed: {frame}")
                return elapsed, size(reply)

    def merge(self, text: str | bytes) -> dict[str, Any]:
        """Apply one server frame to ``html``; return it."""
        frame: dict[str, Any] = json.loads(text)
        kind = frame.get("type")
        if kind == "full":
            self.html, self.version = frame["html"], frame["v"]
            self.token = frame.get("token", self.token)
        elif kind == "diff":
            if frame["v"] != self.version + 1:
                self.gaps += 1
            self.html = apply_ops(self.html, frame["ops"])
            self.version = frame["v"]
        elif kind == "ack":
            self.token = frame.get("token", self.token)
        return frame

    async def consistent(self) -> bool:
        """Ask for a resync; return whether the merged HTML equals the server's."""
        assert self.ws is not None
        merged = self.html
        await self.ws.send(json.dumps({"type": "resync", "id": self.id}))
        while True:
            frame = json.loads(await self.ws.recv())
            if frame.get("type") == "full" and frame.get("id") == self.id:
                return bool(frame["html"] == merged and self.gaps == 0)


SESSIONS: dict[str, type[Session]] = {
    "echo": EchoSession,
    "naive": NaiveSession,
    "live": LiveSession,
}
TARGETS = tuple(SESSIONS)


def session(target: str, port: int, widget: str) -> Session:
    """Return an unopened session of ``target`` for ``widget`` (counter, table or ticker)."""
    return SESSIONS[target](port, widget)
