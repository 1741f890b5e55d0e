"""The soak's client: one page holding several live components on one socket.

A reader task per page merges every frame into the page's copy of each
component's HTML (checking versions and ops the way ``live.js`` does), answers
pending events by ``ref`` and reports broadcast pushes to ``Broadcasts``;
whatever a browser would treat as a fault is counted in the shared ``Faults``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.client import Http, open_socket

#: The ticker's number, as ``bench/components/ticker.html`` renders it.
TICKER_N = re.compile(r"<output>(\d+)</output>")


class Faults:
    """Every fault seen by the client, counted by kind, with the first few messages."""

    def __init__(self, keep: int = 20) -> None:
        self.counts: Counter[str] = Counter()
        self.samples: list[str] = []
        self.keep = keep

    def add(self, kind: str, message: str) -> None:
        """Count one fault of ``kind``; keep its message if it is among the first ones."""
        self.counts[kind] += 1
        if len(self.samples) < self.keep:
            self.samples.append(f"{kind}: {message[:300]}")

    @property
    def total(self) -> int:
        """Faults of every kind."""
        return sum(self.counts.values())


@dataclass
class Tracked:
    """The client's copy of one component: its HTML string and version."""

    name: str
    id: str
    token: str
    version: int
    html: str
    gaps: int = 0


def apply_checked(html: str, ops: list[Any]) -> str | None:
    """Apply diff ops in UTF-16 code units; return ``None`` if they do not fit ``html``."""
    units = html.encode("utf-16-le")
    size = len(units) // 2
    out, pos = [], 0
    for op in ops:
        if not (isinstance(op, list) and len(op) == 3):
            return None
        start, deleted, inserted = op
        if not (isinstance(start, int) and isinstance(deleted, int) and isinstance(inserted, str)):
            return None
        if start < pos or deleted < 0 or start + deleted > size:
            return None
        out.append(units[pos * 2 : start * 2])
        out.append(inserted.encode("utf-16-le"))
        pos = start + deleted
    out.append(units[pos * 2 :])
    return b"".join(out).decode("utf-16-le")


@dataclass
class Page:
    """One socket with a main component (counter or table) and a broadcast ticker."""

    port: int
    widget: str  # "counter" or "table"
    faults: Faults
    #: Called with ``(page, previous, n, arrival)`` when the ticker shows a newer number.
    on_tick: Callable[[Page, int, int, float], None] = lambda page, old, n, at: None
    jar: dict[str, str] = field(default_factory=dict)
    components: dict[str, Tracked] = field(default_factory=dict)
    main: Tracked | None = None
    ticker: Tracked | None = None
    ws: ClientConnection | None = None
    ref: int = 0
    events: int = 0
    #: The last broadcast number the ticker showed (or the count sent before the page opened).
    tick: int = 0
    closing: bool = False
    waiting: dict[int, asyncio.Future[tuple[dict[str, Any], float]]] = field(default_factory=dict)
    resyncs: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def open(self, http: Http) -> Page:
        """Mount both components over HTTP (one session), open the socket and join them."""
        for widget in (self.widget, "ticker"):
            mounted = await http.json("GET", f"/bench/mount/bench_{widget}/", jar=self.jar)
            tracked = Tracked(
                widget, mounted["id"], mounted["token"], mounted["v"], mounted["html"]
            )
            self.components[tracked.id] = tracked
            if widget == "ticker":
                self.ticker = tracked
            else:
                self.main = tracked
        self.ws = await open_socket(self.port, "/ws/live/", self.jar)
        for tracked in self.components.values():
            join = {"type": "join", "id": tracked.id, "token": tracked.token, "v": tracked.version}
            await self.ws.send(json.dumps(join))
            answer = json.loads(await self.ws.recv())
            if answer.get("type") not in ("ack", "full") or answer.get("id") != tracked.id:
                raise RuntimeError(f"join of {tracked.name} failed: {answer}")
            self.merge(answer, time.perf_counter())
        self.reader = asyncio.create_task(self.read())
        return self

    async def read(self) -> None:
        """Merge every frame until the socket closes; a close nobody asked for is a fault."""
        assert self.ws is not None
        try:
            async for message in self.ws:
                at = time.perf_counter()
                try:
                    frame = json.loads(message)
                except ValueError:
                    self.faults.add("bad_frame", repr(message[:200]))
                    continue
                self.merge(frame, at)
        except ConnectionClosed:
            pass
        if not self.closing:
            self.faults.add(
                "unexpected_close", f"code {self.ws.close_code} reason {self.ws.close_reason!r}"
            )
        pending: list[asyncio.Future[Any]] = [*self.waiting.values(), *self.resyncs.values()]
        for future in pending:
            if not future.done():
                future.cancel()

    def merge(self, frame: dict[str, Any], at: float) -> None:
        """Apply one server frame to the page's copy; resolve what waited for it."""
        kind, ref = frame.get("type"), frame.get("ref")
        tracked = self.components.get(frame.get("id", ""))
        if kind == "error":
            self.faults.add("error_frame", json.dumps(frame)[:300])
        elif tracked is None:
            self.faults.add("unknown_frame", json.dumps(frame)[:300])
        elif kind == "full":
            tracked.html, tracked.version = frame["html"], frame["v"]
            tracked.token = frame.get("token", tracked.token)
            waiter = self.resyncs.pop(tracked.id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame["html"])
        elif kind == "diff":
            self.apply_diff(tracked, frame)
        elif kind == "ack":
            tracked.token = frame.get("token", tracked.token)
            if frame.get("v", tracked.version) > tracked.version:
                tracked.gaps += 1
                self.faults.add("version_gap", f"{tracked.name}: ack v{frame['v']}")
        else:
            self.faults.add("unknown_frame", json.dumps(frame)[:300])
        if tracked is self.ticker and tracked is not None and ref is None:
            found = TICKER_N.search(tracked.html)
            n = int(found.group(1)) if found else 0
            if n > self.tick:
                old, self.tick = self.tick, n
                self.on_tick(self, old, n, at)
        if isinstance(ref, int):
            waiter_ref = self.waiting.pop(ref, None)
            if waiter_ref is not None and not waiter_ref.done():
                waiter_ref.set_result((frame, at))

    def apply_diff(self, tracked: Tracked, frame: dict[str, Any]) -> None:
        """Apply a diff if it follows the held version and fits the held string."""
        if frame["v"] <= tracked.version:
            return  # older than what the page holds: ignored, as live.js does
        if frame["v"] != tracked.version + 1:
            tracked.gaps += 1
            self.faults.add("version_gap", f"{tracked.name}: v{tracked.version} -> v{frame['v']}")
        merged = apply_checked(tracked.html, frame["ops"])
        if merged is None or (
            "len" in frame and len(merged.encode("utf-16-le")) // 2 != frame["len"]
        ):
            tracked.gaps += 1
            self.faults.add("bad_ops", f"{tracked.name}: ops {json.dumps(frame['ops'])[:200]}")
            return
        tracked.html, tracked.version = merged, frame["v"]

    async def send(
        self, tracked: Tracked, event: str, payload: dict[str, Any], timeout: float
    ) -> float | None:
        """Send one event; return its round trip in seconds, or ``None`` if it got no answer."""
        assert self.ws is not None
        self.ref += 1
        ref = self.ref
        future: asyncio.Future[tuple[dict[str, Any], float]] = (
            asyncio.get_running_loop().create_future()
        )
        self.waiting[ref] = future
        frame = {"type": "event", "id": tracked.id, "event": event, "payload": payload, "ref": ref}
        start = time.perf_counter()
        try:
            await self.ws.send(json.dumps(frame, separators=(",", ":")))
            _, at = await asyncio.wait_for(future, timeout)
        except (TimeoutError, asyncio.CancelledError, ConnectionClosed) as exc:
            self.waiting.pop(ref, None)
            if not self.closing:
                self.faults.add("no_answer", f"{tracked.name} {event}: {type(exc).__name__}")
            return None
        self.events += 1
        return at - start

    async def consistent(self, tracked: Tracked, timeout: float = 30.0) -> bool:
        """Ask for a resync; return whether the held HTML equals the server's, with no gap."""
        assert self.ws is not None
        held = tracked.html
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.resyncs[tracked.id] = future
        await self.ws.send(json.dumps({"type": "resync", "id": tracked.id}))
        server = await asyncio.wait_for(future, timeout)
        return server == held and tracked.gaps == 0

    async def close(self) -> None:
        """Close the socket and wait for the reader."""
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader
        self.ws = None


class Broadcasts:
    """Every broadcast sent: when, to how many pages, and how many pages showed it."""

    def __init__(self) -> None:
        self.sent_at: list[float] = []
        self.window: list[int] = []
        self.expected: list[int] = []
        self.reached: list[int] = []
        self.last_at: list[float] = []
        self.coalesced = 0

    @property
    def count(self) -> int:
        """Broadcasts sent so far (the number of the last one)."""
        return len(self.sent_at)

    def send(self, window: int, pages: int) -> int:
        """Record a broadcast about to be sent to ``pages`` pages; return its number."""
        self.sent_at.append(time.perf_counter())
        self.window.append(window)
        self.expected.append(pages)
        self.reached.append(0)
        self.last_at.append(0.0)
        return self.count

    def on_tick(self, page: Page, old: int, n: int, at: float) -> None:
        """A ticker went from ``old`` to ``n``: broadcasts ``old + 1 .. n`` reached it."""
        for m in range(old + 1, min(n, self.count) + 1):
            self.reached[m - 1] += 1
            self.last_at[m - 1] = max(self.last_at[m - 1], at)
        self.coalesced += max(0, n - old - 1)

    def missing(self) -> int:
        """Deliveries still outstanding."""
        return sum(e - r for e, r in zip(self.expected, self.reached, strict=True))

    async def wait(self, timeout: float) -> None:
        """Wait until every page showed every broadcast, or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.missing() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    def last_ms(self, numbers: range) -> list[float]:
        """Time from sending to the last page showing it, for complete broadcasts."""
        return [
            1000 * (self.last_at[n] - self.sent_at[n])
            for n in numbers
            if self.reached[n] >= self.expected[n]
        ]
